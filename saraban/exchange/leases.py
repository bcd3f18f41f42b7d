"""Leases on the rows a worker polls (e-CMS accounts, central mailboxes).

Several workers may run; each poll claims one row for a while (``lease_until``,
``lease_owner``), renews the claim before every item and gives it back with the time of the
next poll (``next_poll_at``, ``last_polled_at``, ``last_error``). A worker killed while
polling holds a row back only until its lease runs out. The claim is a conditional update,
so it also holds on SQLite, which has no row locks.
"""

from __future__ import annotations

import datetime as dt

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

__all__ = ["claim", "release", "renew"]


def _free(now: dt.datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim[M: models.Model](model: type[M], *, owner: str, lease: dt.timedelta, where: Q,
                           due_only: bool = True) -> M | None:
    """Claim for ``owner`` the row of ``model`` matching ``where`` that is free (and due, with
    ``due_only``), the longest waiting first; ``None`` when there is none."""
    now = timezone.now()
    with transaction.atomic():
        rows = model._default_manager.select_for_update(skip_locked=True).filter(
            _free(now), where)
        if due_only:
            rows = rows.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        pk = (rows.order_by(F("next_poll_at").asc(nulls_first=True), "pk")
              .values_list("pk", flat=True).first())
        if pk is None:
            return None
        claimed = model._default_manager.filter(_free(now), pk=pk).update(
            lease_until=now + lease, lease_owner=owner)
    if not claimed:
        return None
    return model._default_manager.select_related("agency").get(pk=pk)


def renew(model: type[models.Model], pk: int, *, owner: str, lease: dt.timedelta) -> bool:
    """Extend ``owner``'s lease; False when it was lost (another worker has the row)."""
    return bool(model._default_manager.filter(pk=pk, lease_owner=owner).update(
        lease_until=timezone.now() + lease))


def release(model: type[models.Model], pk: int, *, owner: str, interval: dt.timedelta,
            error: str = "", more: bool = False) -> None:
    """Give the row back; due again after ``interval``, or at once when the batch ran out
    before the work did (``more``, and no error)."""
    now = timezone.now()
    model._default_manager.filter(pk=pk, lease_owner=owner).update(
        lease_until=None, lease_owner="", last_polled_at=now,
        next_poll_at=now if more and not error else now + interval,
        last_error=error[:500])
