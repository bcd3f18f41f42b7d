"""Benchmark rendering, signing and verifying official letters, per letter.

    .venv/bin/python bench/documents.py                 # 200 letters, every form in turn
    .venv/bin/python bench/documents.py --letters 500 --levels B-B,B-T,B-LTA

A scratch SQLite database (a temporary directory) is migrated and given the sample
organisation; a test PKI (root CA, issuing CA, a time-stamping authority and CRLs served over
HTTP on 127.0.0.1, made by ``saraban.signatures.testing``) issues the director a PKCS#12
identity, and its root is trusted. For ``--letters`` letters, the forms in turn with a
different subject and body each time:

- render: the form as PDF/A-2b with Typst (``render_form(..., archival=True)``) plus the
  place of the signature (``signature_box``), as ``draft_sign`` does;
- sign: PAdES with the visible Thai signature block, at each ``--levels`` level (B-T and
  B-LTA ask the local TSA over HTTP; B-LTA also embeds the CRLs and a document timestamp);
- verify: ``verify_pdf`` on the signed file (integrity, trust chain, modification analysis).

It prints p50/p99/mean in ms per step and level, and the signed file sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(samples: dict[str, list[float]], key: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    samples.setdefault(key, []).append((time.perf_counter() - started) * 1000)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--levels", default="B-B,B-T,B-LTA",
                        help="comma-separated PAdES levels to sign at")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    levels = [level.strip() for level in args.levels.split(",") if level.strip()]

    scratch = Path(tempfile.mkdtemp(prefix="saraban-bench-documents-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "saraban.settings"
    # A scratch database: sealed with the demo's published keys (saraban.core.keys).
    os.environ.setdefault("SARABAN_DEMO", "1")
    os.environ["SARABAN_VAR_DIR"] = str(scratch)
    os.environ["SARABAN_FILES_DIR"] = str(scratch / "files")
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("SARABAN_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    services = None
    try:
        import django

        django.setup()
        from dataclasses import replace

        from django.conf import settings
        from django.core.management import call_command

        from saraban.agencies.sample import build_sample_org
        from saraban.documents.render import FORMS, render_form, signature_box
        from saraban.documents.samples import sample_form_data
        from saraban.signatures.pades import Appearance, sign_pdf, verify_pdf
        from saraban.signatures.testing import (
            TEST_PASSPHRASE,
            PKIServices,
            TestPKI,
            make_identity,
        )

        call_command("migrate", verbosity=0)
        org = build_sample_org(password=None)
        services = PKIServices.start()
        pki = TestPKI(services, name="Saraban Bench CA")
        identity = make_identity(org.director, org.ministry, pki)
        settings.SARABAN_TSA_URL = pki.tsa_url

        forms = list(FORMS)
        samples: dict[str, list[float]] = {}
        sizes: dict[str, list[int]] = {}
        for i in range(args.warmup + args.letters):
            form = forms[i % len(forms)]
            base = sample_form_data(form)
            data = replace(
                base,
                number=f"มท 0212/{i + 1}",
                date=dt.date(2026, 11, 23) + dt.timedelta(days=i % 30),
                subject=f"{base.subject or 'เรื่องทดสอบ'} ครั้งที่ {i + 1}",
                body=(*base.body, f"หนังสือฉบับที่ {i + 1} ของการวัดประสิทธิภาพ"),
            )
            record = samples if i >= args.warmup else {}

            def render(form: str = form, data: Any = data) -> tuple[bytes, Any]:
                return render_form(form, data, archival=True), signature_box(form, data)

            pdf, spot = timed(record, "render", render)
            appearance = Appearance(
                page=spot.page, box=spot.box,
                lines=("ลงนามโดย นายสมชาย ใจดี", "ผู้อำนวยการศูนย์", "23 พ.ย. 2569 เวลา 10:15 น."),
            )
            for level in levels:

                def sign(pdf: bytes = pdf, level: str = level, look: Any = appearance) -> bytes:
                    return sign_pdf(pdf, identity, secret=TEST_PASSPHRASE, appearance=look,
                                    reason="bench", level=level)

                signed = timed(record, f"sign {level}", sign)
                verdict = timed(record, f"verify {level}",
                                lambda signed=signed: verify_pdf(signed, tenant=org.ministry))
                if verdict.status != "valid":
                    print(f"letter {i + 1} ({form}, {level}): {verdict.status} "
                          f"{verdict.label_th}", file=sys.stderr)
                    return 1
                if i >= args.warmup:
                    sizes.setdefault(level, []).append(len(signed))

        print(f"{args.letters} letters, forms {', '.join(forms)} in turn, "
              f"levels {', '.join(levels)}; SQLite, one process")
        print(f"{'step':<16}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
        for key, values in samples.items():
            print(f"{key:<16}{statistics.median(values):>9.1f}{percentile(values, 99):>9.1f}"
                  f"{statistics.fmean(values):>9.1f}")
        for level, values in sizes.items():
            print(f"signed size {level}: median {statistics.median(values) / 1024:.0f} KiB")
        return 0
    finally:
        if services is not None:
            services.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
