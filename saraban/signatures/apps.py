from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    name = "saraban.signatures"
    verbose_name = "ลายมือชื่ออิเล็กทรอนิกส์"

    def ready(self) -> None:
        from saraban.core import keys

        from ._secrets import IDENTITY_PURPOSE, open_bytes

        for name in ("p12_encrypted", "secret_encrypted"):
            keys.register_sealed(keys.SealedField(
                model="signatures.SigningIdentity", field=name, agency_field="tenant_id",
                purpose=lambda row: IDENTITY_PURPOSE,
                open_stored=lambda row, value: open_bytes(
                    value.encode() if isinstance(value, str) else value),
                as_bytes=True,
            ))
