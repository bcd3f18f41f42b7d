"""Per-field accuracy of the OCR intake on generated scans (``saraban intake accuracy``).

Each sample letter (``scans.sample_letters``) is scanned (``scans.make_scan``), read by the
same OCR and field proposal the worker uses, and every proposed field is compared with what
was printed: the number (digits as Arabic, spaces ignored), the date, the subject and the
salutation (spaces ignored, every mark counts), the sender (the agency found among the
senders and a few hundred look-alike names) and the urgency.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from saraban.core.thai import arabic_digits

from .fields import AgencyMatcher, KnownAgency, ProposedFields
from .ocr import run_ocr
from .scans import SENDERS, SampleLetter, make_scan, sample_letters
from .services import propose_for_scan
from .text import normalise_ocr

__all__ = ["FIELDS", "Outcome", "Report", "matcher_for_samples", "run", "score"]

FIELDS = ("number", "date", "subject", "salutation", "sender", "urgency")


@dataclass(slots=True)
class Outcome:
    letter: SampleLetter
    proposed: ProposedFields
    seconds: float
    right: dict[str, bool]
    text: str


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def accuracy(self, name: str, *, thai_digits: bool | None = None) -> tuple[int, int]:
        """(right, scored) for one field, optionally over one digit style only."""
        rows = [o for o in self.outcomes
                if thai_digits is None or o.letter.thai_digits == thai_digits]
        scored = [o.right[name] for o in rows if name in o.right]
        return sum(scored), len(scored)

    @property
    def seconds(self) -> list[float]:
        return [o.seconds for o in self.outcomes]


def _same_text(a: str, b: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFC", s))

    return key(a) == key(b)


def score(
    letter: SampleLetter, proposed: ProposedFields, senders: dict[int, str]
) -> dict[str, bool]:
    """Which fields were proposed exactly as printed (a field the form lacks is not scored)."""
    def digits(s: str) -> str:
        return re.sub(r"\s+", "", arabic_digits(s))

    said = proposed.salutation or proposed.recipient_text
    sender = senders.get(proposed.sender_agency_id or 0, proposed.sender_text)
    right = {
        "number": digits(proposed.number) == digits(letter.number),
        "date": proposed.letter_date == letter.date,
        "salutation": _same_text(said, letter.salutation),
        "sender": _same_text(sender, letter.sender),
        "urgency": proposed.urgency == letter.urgency,
    }
    if letter.subject:
        right["subject"] = _same_text(proposed.subject, letter.subject)
    return right


def matcher_for_samples() -> tuple[AgencyMatcher, dict[int, str]]:
    """The senders among look-alike agencies (other provinces' offices and LAOs)."""
    names = [name for name, *_ in SENDERS]
    provinces = ("ลำพูน", "ลำปาง", "เชียงราย", "พะเยา", "แพร่", "น่าน", "ตาก", "สุโขทัย",
                 "พิษณุโลก", "อุตรดิตถ์", "ขอนแก่น", "อุดรธานี", "นครราชสีมา", "สงขลา")
    for province in provinces:
        names += [f"ศาลากลางจังหวัด{province}", f"องค์การบริหารส่วนจังหวัด{province}",
                  f"เทศบาลเมือง{province}", f"สำนักงานสาธารณสุขจังหวัด{province}"]
    known = [KnownAgency(pk=i + 1, name=name) for i, name in enumerate(names)]
    return AgencyMatcher(known), {a.pk: a.name for a in known}


def run(
    count: int, *, seed: int = 2569, today: dt.date,
    progress: Callable[[Outcome], None] | None = None,
) -> Report:
    """Scan, OCR and score ``count`` generated letters."""
    matcher, senders = matcher_for_samples()
    report = Report()
    for i, letter in enumerate(sample_letters(count, seed=seed, today=today)):
        png = make_scan(letter.form, letter.data, angle=letter.angle, noise=letter.noise,
                        seed=seed + i)
        started = time.monotonic()
        result = run_ocr(png, content_type="image/png")
        text = normalise_ocr(result.text)
        proposed = propose_for_scan(text, result.pdf, agencies=matcher, today=today)
        seconds = time.monotonic() - started
        outcome = Outcome(letter=letter, proposed=proposed, seconds=seconds,
                          right=score(letter, proposed, senders), text=text)
        report.outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return report
