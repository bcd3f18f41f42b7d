"""Notifications: a row for the in-app bell and, where the person wants it, an e-mail job.

Both are written in the acting transaction; the e-mail is a durable job the worker sends
after commit (Django's mail backends; the console backend in the demo).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.tasks import task
from django.utils import timezone

from saraban.agencies.models import Person
from saraban.letters.models import Letter

from .models import Notification, NotificationPreference


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


@task()
def send_notification_email(person_id: int, text: str, letter_id: int | None) -> int:
    from django.core.mail import send_mail

    person = Person.objects.get(pk=person_id)
    body = text
    if letter_id is not None:
        body += f"\n\nหนังสือ: /letters/{letter_id}/"
    return send_mail(subject=f"[สารบรรณ] {text[:80]}", message=body, from_email=None,
                     recipient_list=[person.email])
