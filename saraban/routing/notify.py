"""Notifications: a row for the in-app bell and, where the person wants it, an e-mail job.

Both are written in the acting transaction; the e-mail is a durable job the worker sends
after commit (Django's mail backends; the console backend in the demo).

A person's own notification state (read marks, preferences) is changed only by the actions
below (``notifications_mark_read``, ``notification_preferences_set``), from a POST. They are
not audited: they are the person's inbox housekeeping, not an event of any letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from saraban.agencies.models import Person
from saraban.letters.models import Letter

from .models import Notification, NotificationKind, NotificationPreference


def notify(*, people: Iterable[Person], kind: str, letter: Letter | None, text: str) -> int:
    """Tell each person once; returns how many got an in-app notification."""
    unique = {p.pk: p for p in people if p is not None and p.is_active}
    if not unique:
        return 0
    prefs = {
        pref.person_id: pref
        for pref in NotificationPreference.objects.filter(person_id__in=unique, kind=kind)
    }
    now = timezone.now()
    rows = []
    for pk, person in unique.items():
        pref = prefs.get(pk)
        if pref is None or pref.in_app:
            rows.append(Notification(person=person, kind=kind, letter=letter,
                                     text=text[:500], created_at=now))
        if (pref is None or pref.email) and person.email:
            send_notification_email.enqueue(person.pk, text[:500],
                                            letter.pk if letter else None)
    Notification.objects.bulk_create(rows)
    return len(rows)


def notifications_mark_read(
    *, person: Person, notification_id: int | None = None, letter: Letter | None = None,
    kind: str | None = None,
) -> int:
    """Mark the person's unread notifications read: one (``notification_id``), those of a
    letter (and ``kind``), or all of them. Someone else's notification is never touched.
    Returns how many were marked."""
    rows = Notification.objects.filter(person=person, read_at__isnull=True)
    if notification_id is not None:
        rows = rows.filter(pk=notification_id)
    if letter is not None:
        rows = rows.filter(letter=letter)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return rows.update(read_at=timezone.now())


def notification_preferences_set(
    *, person: Person, choices: Mapping[str, tuple[bool, bool]]
) -> None:
    """Store the person's (in app, by e-mail) choice per notification kind, in one
    transaction; unknown kinds are ignored."""
    with transaction.atomic():
        for kind, (in_app, email) in choices.items():
            if kind not in NotificationKind.values:
                continue
            NotificationPreference.objects.update_or_create(
                person=person, kind=kind, defaults={"in_app": in_app, "email": email})


@task()
def send_notification_email(person_id: int, text: str, letter_id: int | None) -> int:
    from django.core.mail import send_mail

    person = Person.objects.get(pk=person_id)
    body = text
    if letter_id is not None:
        body += f"\n\nหนังสือ: /letters/{letter_id}/"
    return send_mail(subject=f"[สารบรรณ] {text[:80]}", message=body, from_email=None,
                     recipient_list=[person.email])
