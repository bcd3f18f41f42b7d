"""The indicators, counted from the registers (definitions: ``docs/indicators.md``).

Every figure starts from register lines (``RegisterEntry``) that are not cancelled, in the
period (Bangkok days of ``registered_at``), in the registries of the scope (an agency, or a
unit and the units below it, within one tenant):

- **sent** (ส่ง): lines of outgoing letters; each recipient of such a letter (``Dispatch``) is
  one copy sent, by its channel; a letter recorded without any recipient channel counts as one
  copy sent by an unrecorded channel. Electronic = Saraban exchange, e-CMS, e-mail.
- **received** (รับ): lines of incoming series, except the second registration of a letter
  handed over from the central registry to a unit (one letter, one arrival), by the channel it
  arrived by (``Letter.received_via``; empty = paper, at the desk).
- **signed** (ลงนามด้วยใบรับรอง): sent letters whose main file carries a signature verified
  as valid against the agency's trust roots (a CA certificate), out of all sent letters.

Secret letters are counted like any other (counts only, never their contents). The counting
itself is ``tallies.count``; the functions here read its figures counted ahead by day and
month (``tallies.read``, exact at every moment) and lay them out as rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import Exists, OuterRef, Q, QuerySet

from saraban.letters.models import (
    ELECTRONIC_CHANNELS,
    INCOMING_SERIES,
    Channel,
    Direction,
    Dispatch,
    RegisterEntry,
    Registry,
)

from . import tallies
from .periods import Period, months_in
from .remote import add_remote
from .scope import Scope

__all__ = ["BY", "PAPER", "RECEIVED_CHANNELS", "SENT_CHANNELS", "UNRECORDED", "Figures",
           "Scope", "electronic_share", "lines_behind", "received_share", "signed_share"]

By = Literal["channel", "unit", "month", "agency"]
BY: tuple[str, ...] = ("channel", "unit", "month", "agency")

#: A sent letter with no recipient channel recorded; an arrival registered at the desk.
UNRECORDED = "unrecorded"
PAPER = "paper"
SENT_CHANNELS: tuple[str, ...] = (*Channel.values, UNRECORDED)
RECEIVED_CHANNELS: tuple[str, ...] = (Channel.SARABAN, Channel.ECMS, Channel.EMAIL, PAPER)
CHANNEL_LABELS: dict[str, str] = {**{c.value: str(c.label) for c in Channel},
                                  UNRECORDED: "ไม่ได้ระบุช่องทาง", PAPER: "กระดาษ (รับที่โต๊ะ)"}


@dataclass(slots=True)
class Figures:
    """One row of an indicator: a total, the electronic (or signed) part, and by channel."""

    key: str
    label: str
    total: int = 0
    part: int = 0
    letters: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        """``part / total`` to four places; ``None`` when nothing was counted."""
        return round(self.part / self.total, 4) if self.total else None

    def as_dict(self, names: tuple[str, str]) -> dict[str, Any]:
        total, part = names
        return {"key": self.key, "label": self.label, total: self.total, part: self.part,
                "share": self.share, "letters": self.letters, "by_channel": self.by_channel}


def _in(period: Period) -> Q:
    lo, hi = period.bounds
    return Q(registered_at__gte=lo, registered_at__lt=hi)


def _rows(by: By, scope: Scope, period: Period, found: Iterable[str],
          channels: tuple[str, ...]) -> dict[str, Figures]:
    """The rows of a breakdown, in order: every month of the period, or every unit of the
    scope with a registry (a unit with nothing counted shows zeros), or the one total."""
    if by == "month":
        keys = [(first.isoformat(), label) for first, label in months_in(period)]
    elif by in ("unit", "agency"):
        field = "unit" if by == "unit" else "tenant"
        names = dict(Registry.objects.filter(scope.registries()).order_by(f"{field}__path")
                     .values_list(f"{field}_id", f"{field}__name_th").distinct())
        units = {str(k): v for k, v in names.items()}
        units.update({k: k for k in found if k not in units})
        keys = list(units.items())
    else:
        keys = [("total", "รวม")]
    return {k: Figures(key=k, label=label, by_channel=dict.fromkeys(channels, 0))
            for k, label in keys}


def _total(rows: dict[str, Figures], channels: tuple[str, ...]) -> Figures:
    total = Figures(key="total", label="รวม", by_channel=dict.fromkeys(channels, 0))
    for row in rows.values():
        total.total += row.total
        total.part += row.part
        total.letters += row.letters
        for c, n in row.by_channel.items():
            total.by_channel[c] += n
    return total


def electronic_share(scope: Scope, period: Period, *, by: By = "channel"
                     ) -> tuple[Figures, list[Figures]]:
    """Copies sent, and sent electronically, in ``period``: the total and the rows of ``by``."""
    columns = tuple(f"sent_{c}" for c in SENT_CHANNELS)
    found = tallies.read(scope, period.start, period.end, by=None if by == "channel" else by,
                         columns=(*columns, "letters"))
    rows = _rows(by, scope, period, found, SENT_CHANNELS)
    for key, sums in found.items():
        row = rows[key]
        for channel in SENT_CHANNELS:
            copies = sums[f"sent_{channel}"]
            row.by_channel[channel] += copies
            row.total += copies
            if channel in ELECTRONIC_CHANNELS:
                row.part += copies
        row.letters += sums["letters"]
    return add_remote("sent", scope, period, by, _total(rows, SENT_CHANNELS),
                      list(rows.values()))


def received_share(scope: Scope, period: Period, *, by: By = "channel"
                   ) -> tuple[Figures, list[Figures]]:
    """Letters received, and received electronically, in ``period``."""
    found = tallies.read(scope, period.start, period.end, by=None if by == "channel" else by,
                         columns=tuple(f"recv_{c}" for c in RECEIVED_CHANNELS))
    rows = _rows(by, scope, period, found, RECEIVED_CHANNELS)
    for key, sums in found.items():
        row = rows[key]
        for channel in RECEIVED_CHANNELS:
            n = sums[f"recv_{channel}"]
            row.by_channel[channel] += n
            row.total += n
            row.letters += n
            if channel in ELECTRONIC_CHANNELS:
                row.part += n
    return add_remote("received", scope, period, by, _total(rows, RECEIVED_CHANNELS),
                      list(rows.values()))


def signed_share(scope: Scope, period: Period, *, by: By = "channel"
                 ) -> tuple[Figures, list[Figures]]:
    """Letters sent in ``period``, and those whose main file is validly signed (CA)."""
    channels = ("signed", "unsigned")
    found = tallies.read(scope, period.start, period.end, by=None if by == "channel" else by,
                         columns=("letters", "signed"))
    rows = _rows(by, scope, period, found, channels)
    for key, sums in found.items():
        row = rows[key]
        row.total += sums["letters"]
        row.letters += sums["letters"]
        row.part += sums["signed"]
        row.by_channel["signed"] += sums["signed"]
        row.by_channel["unsigned"] += sums["letters"] - sums["signed"]
    return add_remote("signed", scope, period, by, _total(rows, channels), list(rows.values()))


def lines_behind(scope: Scope, period: Period, *, indicator: str, unit: int | None = None,
                 agency: int | None = None, channel: str | None = None,
                 ) -> QuerySet[RegisterEntry]:
    """The register lines a figure counts (newest first), for the drill-down to the letters:
    ``indicator`` "sent" or "received", optionally of one registry ``unit``, one hosted
    ``agency`` (a tenant) and one ``channel``. The caller filters them by the letters' access
    rule: an overseer sees the count, a reader the letters."""
    entries = scope.entries().filter(_in(period), cancelled_at__isnull=True)
    if indicator == "received":
        entries = entries.filter(series__kind__in=INCOMING_SERIES,
                                 letter__direction=Direction.INCOMING, handover__isnull=True)
        if channel == PAPER:
            entries = entries.exclude(letter__received_via__in=ELECTRONIC_CHANNELS)
        elif channel:
            entries = entries.filter(letter__received_via=channel)
    else:
        entries = entries.filter(letter__direction=Direction.OUTGOING)
        if channel == UNRECORDED:
            entries = entries.filter(letter__dispatches__isnull=True)
        elif channel:
            entries = entries.filter(Exists(Dispatch.objects.filter(
                letter_id=OuterRef("letter_id"), channel=channel)))
    if unit is not None:
        entries = entries.filter(series__registry__unit_id=unit)
    if agency is not None:
        entries = entries.filter(series__registry__tenant_id=agency)
    return entries.order_by("-registered_at", "-pk")
