"""``saraban render_forms --out DIR``: every official form as PDF and PNG, to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saraban.documents.render import FORMS, render_form, render_form_png
from saraban.documents.samples import sample_form_data


class Command(BaseCommand):
    help = "เรนเดอร์แบบหนังสือราชการทุกแบบด้วยข้อมูลตัวอย่าง เป็น PDF และ PNG"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="โฟลเดอร์ที่จะเขียนไฟล์")
        parser.add_argument("--ppi", type=float, default=96.0, help="ความละเอียดของ PNG")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        out.mkdir(parents=True, exist_ok=True)
        for form, thai_name in FORMS.items():
            data = sample_form_data(form)
            (out / f"{form}.pdf").write_bytes(render_form(form, data))
            pages = render_form_png(form, data, ppi=options["ppi"])
            for number, png in enumerate(pages, start=1):
                suffix = "" if len(pages) == 1 else f"-{number}"
                (out / f"{form}{suffix}.png").write_bytes(png)
            self.stdout.write(f"{thai_name}: {out / form}.pdf, {len(pages)} PNG")
