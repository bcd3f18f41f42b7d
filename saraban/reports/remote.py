"""Figures of agencies hosted on other nodes, from the monthly reports they send their
overseer over the exchange (``saraban.exchange`` keeps them as ``ReceivedReport``; sending:
``remote_send.send_monthly``; definitions: ``docs/indicators.md``, "Remote figures").

The overseer's view (``Scope(..., hosted=True)``) counts the registers hosted on this node;
``add_remote`` adds what the agencies elsewhere reported to the scope's agency or to an
agency below it, for the months entirely inside the period (a report covers a whole month,
so a period that cuts a month counts none of that month's reports). A sender hosted here
inside the scope is already counted from its registers and is left out.

This module imports nothing of ``indicators`` at run time (``indicators`` calls
``add_remote``): the rows it adds are copies of the figures it is given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from saraban.exchange.models import DirectoryEntry, ReceivedReport

from .periods import Period, whole_months
from .scope import Scope
from .tallies import once

if TYPE_CHECKING:
    from .indicators import Figures

__all__ = ["INDICATORS", "REMOTE_PREFIX", "RemoteMonth", "add_remote", "remote_months"]

#: The indicators a report carries figures for (as ``lines_behind`` names them).
INDICATORS: tuple[str, ...] = ("sent", "received", "signed")
#: The key of an extra row for a remote agency (``by="agency"``): "remote:<exchange code>".
REMOTE_PREFIX = "remote:"


@dataclasses.dataclass(frozen=True, slots=True)
class RemoteMonth:
    """One remote agency's current report for one month."""

    code: str
    month: dt.date
    figures: Mapping[str, Any]


def remote_months(scope: Scope, period: Period) -> list[RemoteMonth]:
    """The current reports counted for ``scope`` in ``period``: sent to its agency or an
    agency below it, for a month entirely inside the period, by a sender not hosted inside
    the scope; one per sender and month (the one generated last, if it reported to two
    agencies of the scope). Empty unless the scope is an overseer's (``hosted``)."""
    months = whole_months(period.start, period.end)
    if not scope.hosted or not months:
        return []
    path = scope.agency.path
    counted_here = DirectoryEntry.objects.filter(agency__path__startswith=path).values("code")
    rows = (
        ReceivedReport.objects.filter(current=True, recipient__path__startswith=path,
                                      month__gte=months[0], month__lte=months[-1])
        .exclude(sender_code__in=counted_here)
        .order_by("sender_code", "month", "-generated_at", "-pk")
        .values_list("sender_code", "month", "figures")
    )
    found: dict[tuple[str, dt.date], RemoteMonth] = {}
    for code, month, figures in rows:
        found.setdefault((code, month), RemoteMonth(code, month, figures))
    return list(found.values())


def _figures(indicator: str, figures: Mapping[str, Any]) -> tuple[int, int, int, dict[str, int]]:
    """(total, part, letters, by channel) of one indicator in a report's figures."""
    if indicator == "sent":
        sent = figures["sent"]
        return sent["total"], sent["electronic"], sent["letters"], dict(sent["by_channel"])
    if indicator == "received":
        got = figures["received"]
        return got["total"], got["electronic"], got["total"], dict(got["by_channel"])
    if indicator == "signed":
        signed = figures["signed"]
        return (signed["total"], signed["signed"], signed["total"],
                {"signed": signed["signed"], "unsigned": signed["total"] - signed["signed"]})
    raise ValueError(f"unknown indicator {indicator!r}: one of {', '.join(INDICATORS)}")


def _add(row: Figures, total: int, part: int, letters: int, by_channel: dict[str, int]) -> None:
    row.total += total
    row.part += part
    row.letters += letters
    for channel, n in by_channel.items():
        row.by_channel[channel] = row.by_channel.get(channel, 0) + n


def add_remote(indicator: str, scope: Scope, period: Period, by: str, total: Figures,
               rows: list[Figures]) -> tuple[Figures, list[Figures]]:
    """Add the remote agencies' reported figures of ``indicator`` ("sent", "received",
    "signed") to an indicator's ``total`` and ``rows`` (changed in place, and returned).

    ``by="agency"``: one extra row per remote agency (key ``remote:<code>``, its name from
    the directory), after the agencies hosted here, in the order of their codes;
    ``by="month"``: into the row of each month; ``by="channel"``: into the channel row;
    ``by="unit"``: into the total only (a remote agency has no unit here). Always into
    ``total``.
    """
    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}: one of {', '.join(INDICATORS)}")
    reports = once(("remote", scope.agency.pk, scope.hosted, period),
                   lambda: remote_months(scope, period))
    if not reports:
        return total, rows
    extra: dict[str, Figures] = {}
    if by == "agency":
        codes = sorted({r.code for r in reports})
        names = dict(DirectoryEntry.objects.filter(code__in=codes)
                     .values_list("code", "name_th"))
        for code in codes:
            extra[code] = dataclasses.replace(
                total, key=f"{REMOTE_PREFIX}{code}", label=names.get(code, code), total=0,
                part=0, letters=0, by_channel=dict.fromkeys(total.by_channel, 0))
        rows.extend(extra.values())
    by_key = {row.key: row for row in rows}
    for report in reports:
        counted = _figures(indicator, report.figures)
        targets = [total]
        if by == "agency":
            targets.append(extra[report.code])
        elif by == "month":
            row = by_key.get(report.month.isoformat())
            if row is not None and row is not total:
                targets.append(row)
        elif by == "channel":
            targets.extend(row for row in rows if row is not total)
        for target in targets:
            _add(target, *counted)
    return total, rows
