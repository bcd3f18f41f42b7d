"""``saraban ecms parse``: the real command, run as a subprocess on corpus files and on a letter
signed with a certificate this test makes, with and without ``--trust``."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pathlib
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saraban.ecms import (
    Binary,
    Header,
    Letter,
    Party,
    Reference,
    Signer,
    letter_request,
)
from saraban.ecms.cli import describe, parse_main

ROOT = pathlib.Path(__file__).resolve().parents[3]
SARABAN = ROOT / ".venv" / "bin" / "saraban"
CORPUS = pathlib.Path(__file__).parent / "corpus"
PDF = (CORPUS / "files" / "letter.pdf").read_bytes()
PNG = (CORPUS / "files" / "seal.png").read_bytes()


@dataclass(frozen=True)
class Run:
    code: int
    out: dict[str, Any]
    stderr: str


def _run(args: list[str], stdin: bytes | None = None) -> Run:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")},
        "DJANGO_SETTINGS_MODULE": "saraban.settings",
        "SARABAN_DEMO": "1",
        "LANG": "C",  # Thai must come out as UTF-8 whatever the locale
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.run(
        [str(SARABAN), "ecms", "parse", *args], input=stdin, capture_output=True,
        env=env, cwd=ROOT, timeout=120, check=False,
    )
    try:
        out = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        pytest.fail(f"not JSON: {proc.stdout!r}\n{proc.stderr.decode(errors='replace')}")
    return Run(proc.returncode, out, proc.stderr.decode(errors="replace"))


# --------------------------------------------------------------------------- a test PKI


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "กระทรวงมหาดไทย"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _cert(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _pem(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.PEM)


LETTER = Letter(
    letter_id="มท 0310.4/ว 512",
    date_text="2026-12-07",
    subject="ขอเชิญประชุมคณะกรรมการพัฒนาระบบสารบรรณ & การเชื่อมโยง e-CMS",
    secret_code="002",
    speed_code="003",
    sender=Party("ธนพล", "วงศ์ไทย", "อธิบดีกรมการปกครอง", "15", "1500100000"),
    receiver=Party("สมชาย", "ใจดี", "ผู้อำนวยการกองกลาง", "02", "0201300000"),
    references=(Reference("กห 0201.3/1795", "2026-11-30", "ขอเชิญประชุม"),),
    attachment_text="ระเบียบวาระการประชุม",
    send_date="2026-12-07T09:00:00",
    description="ประชุมวันที่ 14 ธันวาคม 2569",
    main=Binary("application/pdf", PDF),
    attachments=(Binary("image/png", PNG), Binary("application/pdf", PDF)),
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    """A letter signed by Saraban's builder with a certificate issued by a CA made here;
    the CA, the agency certificate, an unrelated certificate, and a tampered copy."""
    d = tmp_path_factory.mktemp("pki")
    ca_key, agency_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert(_name("ศูนย์รับรองทดสอบ"), ca_key, _name("ศูนย์รับรองทดสอบ"), ca_key, ca=True)
    agency = _cert(_name("กรมการปกครอง"), agency_key, ca.subject, ca_key, ca=False)
    other = _cert(_name("หน่วยงานอื่น"), other_key, _name("หน่วยงานอื่น"), other_key, ca=False)
    key_pem = agency_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    data = letter_request(
        LETTER,
        signer=Signer("DSIG", "ธนพล", "วงศ์ไทย", "อธิบดีกรมการปกครอง", "15", "1500100000"),
        sign_key_pem=key_pem, sign_cert_pem=_pem(agency),
        header=Header(message_id="uuid:1", to="http://ecms.dopa.go.th/ecms-ws01/service2"),
    )
    paths = {
        "letter": d / "signed.xml", "tampered": d / "tampered.xml", "ca": d / "ca.pem",
        "agency": d / "agency.pem", "other": d / "other.pem", "garbage": d / "garbage.pem",
    }
    paths["letter"].write_bytes(data)
    old = "การเชื่อมโยง e-CMS".encode()
    assert old in data
    paths["tampered"].write_bytes(data.replace(old, "การเชื่อมโยง e-GIF".encode(), 1))
    paths["ca"].write_bytes(_pem(ca))
    paths["agency"].write_bytes(_pem(agency))
    paths["other"].write_bytes(_pem(other))
    paths["garbage"].write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    return paths


@pytest.fixture(scope="module")
def runs(signed: dict[str, pathlib.Path]) -> Iterator[dict[str, Run]]:
    """The command as an operator runs it (each start costs a Django set-up, so four, two at
    a time); the other cases call the same entry point in process."""
    jobs: dict[str, tuple[list[str], bytes | None]] = {
        "mildoc_letter": ([str(CORPUS / "mildoc/outbound_letter.xml")], None),
        "stdin_refused": (["-"], (CORPUS / "transcript/mime_codes_response_typo.xml").read_bytes()),
        "signed_untrusted": ([str(signed["letter"])], None),
        "signed_ca": ([str(signed["letter"]), "--trust", str(signed["other"]),
                       "--trust", str(signed["ca"])], None),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, *job) for name, job in jobs.items()}
        yield {name: f.result() for name, f in futures.items()}


# --------------------------------------------------------------------------- the command


def test_mildoc_letter(runs: dict[str, Run]) -> None:
    r = runs["mildoc_letter"]
    assert r.code == 0, r.stderr
    o = r.out
    assert o["operation"] == "CorrespondenceLetterOutboundRequest"
    assert o["dialect"] == "mildoc"
    assert o["letter"]["id"] == "กห 0201.3/1795"
    assert o["letter"]["date"] == "2020-01-31"
    assert o["letter"]["subject"] == (
        "ขอเชิญประชุมคณะทำงานพัฒนาระบบสารบรรณอิเล็กทรอนิกส์ ครั้งที่ 1/2563")
    assert (o["letter"]["secret_code"], o["letter"]["speed_code"]) == ("001", "002")
    assert (o["sender"]["department"], o["sender"]["ministry"]) == ("0201300000", "02")
    assert o["receiver"]["department"] == "1500100000"
    assert [ref["id"] for ref in o["references"]] == ["มท 0210.3/ว 1795", "กห 0201.3/512"]
    assert o["attachments"] == 2
    assert [f["mime"] for f in o["attachment_files"]] == ["application/pdf", "image/png"]
    assert o["main"] == {"mime": "application/pdf", "size": len(PDF),
                         "sha256": o["main"]["sha256"]}
    assert o["signature"] == "absent"
    assert o["signer"] is None
    assert o["errors"] == [] and o["repaired"] == []


def test_refusal_read_from_standard_input_exits_2_with_a_code(runs: dict[str, Run]) -> None:
    r = runs["stdin_refused"]
    assert r.code == 2
    assert set(r.out) == {"code", "message"}
    assert r.out["code"] == "xml_malformed"
    assert r.out["message"]


def test_signed_letter_without_trust_is_untrusted_and_names_its_signer(
    runs: dict[str, Run],
) -> None:
    r = runs["signed_untrusted"]
    assert r.code == 0, r.stderr
    assert r.out["signature"] == "untrusted"
    assert r.out["signer"] == "CN=กรมการปกครอง,O=กระทรวงมหาดไทย,C=TH"
    assert r.out["letter"]["subject"] == LETTER.subject
    assert r.out["dialect"] == "saraban"
    assert r.out["attachments"] == 2


def test_signed_letter_trusted_through_its_ca_is_valid(runs: dict[str, Run]) -> None:
    r = runs["signed_ca"]
    assert r.code == 0, r.stderr
    assert r.out["signature"] == "valid"
    assert r.out["signer"] == "CN=กรมการปกครอง,O=กระทรวงมหาดไทย,C=TH"


# --------------------------------------------------------------------------- in process


def test_every_corpus_file_prints_json_or_a_code(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The same entry point in process, over the whole corpus: 0 with an operation, or 2 with
    a code; never a traceback."""
    for path in sorted(CORPUS.glob("*/*.xml")):
        code = parse_main([str(path)])
        out = json.loads(capsysbinary.readouterr().out.decode())
        assert code in {0, 2}, path
        assert ("operation" in out) if code == 0 else ("code" in out), (path, out)


def test_limits_are_options(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = str(CORPUS / "mildoc/outbound_letter.xml")
    assert parse_main([path, "--max-bytes", "1000"]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "xml_too_large"
    assert parse_main([path, "--max-file-bytes", "100"]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "file_too_large"
    assert parse_main([path, "--max-files", "1"]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "too_many_files"
    assert parse_main([path, "--max-depth", "3"]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "xml_too_deep"
    assert parse_main([path, "--max-elements", "10"]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "xml_too_large"


def test_limits_default_to_the_environment(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = str(CORPUS / "mildoc/outbound_letter.xml")
    monkeypatch.setenv("SARABAN_ECMS_MAX_FILES", "2")
    assert parse_main([path]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "too_many_files"
    assert parse_main([path, "--max-files", "3"]) == 0  # the option wins
    capsysbinary.readouterr()
    monkeypatch.setenv("SARABAN_ECMS_MAX_FILES", "many")
    assert parse_main([path]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "usage"


def test_usage_errors_are_refusals_too(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert parse_main([]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "usage"
    assert parse_main(["x.xml", "--max-bytes", "many"]) == 2
    assert json.loads(capsysbinary.readouterr().out)["code"] == "usage"


def test_look_up_answers_list_their_items(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert parse_main([str(CORPUS / "transcript/organizations_response.xml")]) == 0
    out = json.loads(capsysbinary.readouterr().out)
    assert [o["id"] for o in out["organizations"]] == ["1500100000", "2100300000", "0100500000"]
    assert out["organizations"][0]["ecms_url"] == "http://dopa.ecms.dga.or.th/ecms-ws01/service2"
    assert parse_main([str(CORPUS / "transcript/speed_codes_response.xml")]) == 0
    out = json.loads(capsysbinary.readouterr().out)
    assert out["codes"][3] == {"value": "004", "description": "ด่วนที่สุด"}
    assert parse_main([str(CORPUS / "transcript/error_response.xml")]) == 0
    out = json.loads(capsysbinary.readouterr().out)
    assert out["errors"] == [{"code": "E1007",
                              "description": "ไม่พบรหัสหน่วยงานผู้รับ 2100399999 ในระบบ"}]


def _main(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, dict[str, Any]]:
    code = parse_main(list(argv))
    return code, json.loads(capsysbinary.readouterr().out)


def test_boi_letter_shows_its_government_signature_and_no_main_file(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, o = _main(capsysbinary, str(CORPUS / "boi/outbound_letter.xml"))
    assert code == 0
    assert o["dialect"] == "boi"
    assert o["main"] is None and o["attachments"] == 0
    assert o["receiver"]["ministry"] == "15"
    assert o["government_signature"]["title"] == "รองเลขาธิการ"
    assert o["signature"] == "absent"


def test_command_refusals(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch,
    signed: dict[str, pathlib.Path],
) -> None:
    xxe = (b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
           b"<SOAP-ENV:Body><CorrespondenceLetterInboundRequest>&x;"
           b"</CorrespondenceLetterInboundRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(xxe)))
    code, out = _main(capsysbinary, "-")
    assert (code, out["code"]) == (2, "xml_dtd_refused")
    assert "root:" not in json.dumps(out)
    code, out = _main(capsysbinary, str(signed["letter"].with_name("nowhere.xml")))
    assert (code, out["code"]) == (2, "file_unreadable")
    code, out = _main(capsysbinary, str(signed["letter"]), "--trust", str(signed["garbage"]))
    assert (code, out["code"]) == (2, "bad_trust_certificate")
    code, out = _main(capsysbinary, str(signed["letter"]), "--trust", str(signed["other"]))
    assert (code, out["signature"]) == (0, "untrusted")
    code, out = _main(capsysbinary, str(signed["letter"]), "--trust", str(signed["agency"]))
    assert (code, out["signature"]) == (0, "valid")


def test_notifier_in_the_queue_read_from_standard_input(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (CORPUS / "transcript/inbound_response_accept.xml").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, o = _main(capsysbinary, "-")
    assert code == 0
    assert o["operation"] == "CorrespondenceLetterInboundResponse"
    assert o["empty_queue"] is False
    assert o["process_id"] == "ECMS-20170110-000202"
    assert o["process_time"] == "2017-01-10T09:12:45.120+07:00"
    assert o["notifier"] == {
        "kind": "AcceptLetterNotifier", "letter_id": "นร 1302/0456", "date": "2017-01-09",
        "date_text": "2017-01-09", "subject": "แจ้งผลการพิจารณาอนุมัติโครงการส่งเสริมการลงทุน",
        "accept_id": "2560/00045", "accept_date": "2017-01-10T09:10:02",
        "accept_department": "2100300000",
    }
    assert o["accept_department"] == "2100300000"
    assert "letter" not in o


def test_tampered_letter_is_understood_but_invalid(
    capsysbinary: pytest.CaptureFixture[bytes], signed: dict[str, pathlib.Path],
) -> None:
    code, o = _main(capsysbinary, str(signed["tampered"]), "--trust", str(signed["ca"]))
    assert code == 0
    assert o["signature"] == "invalid"
    assert o["letter"]["subject"].endswith("e-GIF")


def test_describe_gives_the_wire_date_when_it_does_not_parse() -> None:
    from saraban.ecms import Message

    msg = Message(operation="CorrespondenceLetterOutboundRequest",
                  letter=Letter(letter_id="x", date_text="2563-13-45", subject="s"))
    out = describe(msg)
    assert out["letter"]["date"] is None
    assert out["letter"]["date_text"] == "2563-13-45"
    assert out["main"] is None
