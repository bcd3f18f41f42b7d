# mypy: ignore-errors
"""An ocrmypdf plugin (loaded with ``--plugin``): give Tesseract the languages in our order.

ocrmypdf 14 (Debian 12) keeps ``-l tha+eng`` as a set and passes it on in hash order; with
``eng`` first Tesseract writes Thai with a space after every character. This hook puts the
languages back in the order of ``SARABAN_OCR_LANGUAGES`` (Thai first). It runs inside
ocrmypdf's own Python, not Saraban's.
"""

import os

from ocrmypdf import hookimpl


@hookimpl
def validate(pdfinfo, options):
    wanted = [x for x in os.environ.get("SARABAN_OCR_LANGUAGES", "tha+eng").split("+") if x]
    have = set(options.languages)
    options.languages = [x for x in wanted if x in have] + sorted(have - set(wanted))
