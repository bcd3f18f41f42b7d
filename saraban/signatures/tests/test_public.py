"""The names other areas import from the signatures area stay where they are."""

from __future__ import annotations

from saraban.signatures import pades, services, testing


def test_public_names():
    assert set(pades.__all__) == {
        "Appearance", "Level", "SignatureInfo", "Status", "Verdict", "add_overlay", "sign_pdf",
        "verify_pdf",
    }
    assert {"identity_add_pkcs12", "identity_add_pkcs11", "identity_for", "seal_for",
            "trust_root_add", "check_file", "check_letter_files"} <= set(services.__all__)
    assert {"TestPKI", "PKIServices", "make_identity", "make_seal", "softhsm_token",
            "trust_pki"} <= set(testing.__all__)
    for module in (pades, services, testing):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
