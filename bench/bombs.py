"""Build each hostile file and run it through the code that reads arriving files.

    .venv/bin/python bench/bombs.py

Each bomb (``saraban.letters.tests.bombs``, built in memory, never committed) goes through
the path a real one takes: ``files.store_file`` (every upload, registration and exchange
arrival keeps its files through it), ``run_ocr`` (the OCR intake's worker), ``stamp_pdf``
(the receipt-stamped copy) and ``verify_pdf`` (signature checks on arrival). A scratch
SQLite database and file store (a temporary directory) are used and removed.

One line per bomb: its name and size, the verdict (the error code, or what the reader
answered), whether it held (refused as expected, with the parser's peak memory under 1 GiB)
and the parser's peak memory. The exit status is non-zero if any did not hold.

``run()`` returns the same as a list of dicts, for ``bench/attack.py``::

    {"name": "pdf-flate-2GiB", "size": 2124252, "verdict": "file_bomb", "held": True,
     "peak_mib": 38.1, "seconds": 2.4, "expected": "file_bomb"}
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GiB = 1024 * 1024 * 1024


def _setup(scratch: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "saraban.settings"
    os.environ["SARABAN_VAR_DIR"] = str(scratch)
    os.environ["SARABAN_FILES_DIR"] = str(scratch / "files")
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("SARABAN_DEMO", "1")
    os.environ.setdefault("SARABAN_LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _cases() -> list[tuple[str, Callable[[], bytes], str, str]]:
    """(name, builder, how it is read, the verdict that means it held)."""
    from saraban.letters.tests import bombs

    return [
        ("pdf-flate-2GiB", bombs.pdf_flate_bomb, "store", "file_bomb"),
        ("pdf-image-200000x200000", bombs.pdf_huge_image, "store", "file_bomb"),
        ("pdf-nested-100000", bombs.pdf_deeply_nested, "store", "file_too_complex"),
        ("png-60000x60000", bombs.png_bomb, "store", "file_bomb"),
        ("tiff-100000x100000", bombs.tiff_bomb, "store", "file_bomb"),
        ("docx-zip-bomb-2GiB", bombs.docx_zip_bomb, "attachment", "file_bomb"),
        ("docx-traversal", bombs.docx_with_traversal, "attachment", "zip_unsafe_name"),
        ("docx-nested-zips-3", bombs.docx_with_nested_zips, "attachment", "file_too_complex"),
        ("docx-entities", bombs.docx_with_entities, "attachment", "office_invalid"),
        ("zip-content-types-only", bombs.zip_with_content_types_only, "attachment",
         "office_invalid"),
        ("pdf-unstampable", bombs.pdf_unreadable_for_stamp, "stamp", "pdf_unreadable"),
        ("ocr-pdf-flate-2GiB", bombs.pdf_flate_bomb, "ocr", "ocr_refused"),
        ("verify-pdf-flate-2GiB", bombs.pdf_flate_bomb, "verify", "not_valid"),
        ("control-pdf", bombs.plain_pdf, "store", "accepted"),
        ("control-docx", bombs.docx, "attachment", "accepted"),
        ("control-odt", bombs.odt, "attachment", "accepted"),
    ]


def _read(how: str, data: bytes) -> str:
    """Run ``data`` through the code path ``how``; the verdict."""
    from django.db import transaction

    from saraban.core.errors import SarabanError
    from saraban.intake.ocr import OcrFailed, OcrUnavailable, run_ocr
    from saraban.letters import files
    from saraban.letters.stamp import stamp_pdf
    from saraban.signatures.pades import verify_pdf

    try:
        if how in ("store", "attachment"):
            allowed = files.ATTACHMENT_TYPES if how == "attachment" else files.MAIN_TYPES
            with transaction.atomic():
                files.store_file(data, allowed=allowed)
            return "accepted"
        if how == "stamp":
            stamp_pdf(data, registry_name="ทะเบียนกลาง", number="1", date_text="1 ธ.ค. 2569",
                      time_text="10:00 น.")
            return "stamped"
        if how == "ocr":
            try:
                run_ocr(data, content_type=files.PDF)
            except OcrFailed:
                return "ocr_refused"
            except OcrUnavailable:
                return "ocr_unavailable"
            return "ocr_read"
        verdict = verify_pdf(data, tenant=None)
        return "not_valid" if verdict.status in ("unsigned", "unreadable") else verdict.status
    except SarabanError as exc:
        return exc.code


def _overhead_ms() -> float:
    from saraban.core import sandbox

    sandbox.run("saraban.core.tests.sandbox_targets:add", 1, 1)
    started = time.monotonic()
    for _ in range(20):
        sandbox.run("saraban.core.tests.sandbox_targets:add", 1, 1)
    return (time.monotonic() - started) / 20 * 1000


def run() -> list[dict[str, Any]]:
    """Every bomb through its code path; one dict per bomb (see the module's docstring)."""
    scratch = Path(tempfile.mkdtemp(prefix="saraban-bombs-"))
    try:
        _setup(scratch)
        from saraban.core import sandbox

        results: list[dict[str, Any]] = []
        for name, build, how, expected in _cases():
            data = build()
            started = time.monotonic()
            verdict = _read(how, data)
            seconds = time.monotonic() - started
            stats = sandbox.last_run()
            peak = stats.peak_rss if stats is not None else 0
            results.append({
                "name": name, "size": len(data), "verdict": verdict, "expected": expected,
                "held": verdict == expected and peak < GiB,
                "peak_mib": round(peak / 1024 / 1024, 1), "seconds": round(seconds, 2),
            })
        overhead = _overhead_ms()
        results.append({
            "name": "sandbox-call-overhead", "size": 0, "verdict": f"{overhead:.1f} ms/call",
            "expected": "", "held": True, "peak_mib": 0.0, "seconds": round(overhead / 1000, 4),
        })
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    results = run()
    for r in results:
        state = "held" if r["held"] else "NOT HELD"
        print(f"{r['name']:<26} {r['size']:>10,} B  {r['verdict']:<18} {state:<8} "
              f"peak {r['peak_mib']:>7.1f} MiB  {r['seconds']:>6.2f} s")
    return 0 if all(r["held"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
