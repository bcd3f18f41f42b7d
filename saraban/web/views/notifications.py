"""The bell: unread count (polled by htmx), the list of notifications and the preferences.

A person only ever sees and changes their own notifications; every page keeps a constant
number of queries (one count for the bell; one page of rows with their letters for the list).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from saraban.agencies.models import Person
from saraban.routing.models import Notification, NotificationKind, NotificationPreference
from saraban.routing.notify import notification_preferences_set, notifications_mark_read

from .browse import person_of

PAGE_SIZE = 30


def bell_poll() -> str:
    """The htmx trigger of the bell (``SARABAN_BELL_POLL_SECONDS``, 30 by default)."""
    return f"every {getattr(settings, 'SARABAN_BELL_POLL_SECONDS', 30)}s"


def unread_count(person: Person) -> int:
    return Notification.objects.filter(person=person, read_at__isnull=True).count()


STOP_POLLING = 286  # htmx: stop polling, swap nothing


@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The tiny partial the top bar polls: the bell link with the unread count.

    Signed out (the session ended in another tab): answer htmx's "stop polling" instead of
    redirecting, so the login page is never swapped into the top bar.
    """
    if not isinstance(request.user, Person) or not request.user.is_authenticated:
        return HttpResponse(status=STOP_POLLING)
    person = request.user
    return render(request, "web/notifications/_bell.html",
                  {"unread": unread_count(person), "poll": bell_poll()})


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    rows = Notification.objects.filter(person=person).select_related("letter")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/notifications/list.html", {"page": page})


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Opening a notification (a POST from the list) marks it read and goes to its letter."""
    person = person_of(request)
    row = Notification.objects.filter(person=person, pk=notification_id).first()
    if row is None:
        return redirect("web:notifications")
    notifications_mark_read(person=person, notification_id=row.pk)
    if row.letter_id is not None:
        return redirect("web:letter_detail", letter_id=row.letter_id)
    return redirect("web:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = notifications_mark_read(person=person_of(request))
    if marked:
        messages.success(request, f"ทำเครื่องหมายว่าอ่านแล้ว {marked} รายการ")
    return redirect("web:notifications")


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Per kind: in the app (the bell) and by e-mail. No stored row means both on."""
    person = person_of(request)
    if request.method == "POST":
        notification_preferences_set(person=person, choices={
            kind: (f"{kind}-in_app" in request.POST, f"{kind}-email" in request.POST)
            for kind in NotificationKind.values
        })
        messages.success(request, "บันทึกการตั้งค่าการแจ้งเตือนแล้ว")
        return redirect(reverse("web:notification_settings"))
    stored = {p.kind: p for p in NotificationPreference.objects.filter(person=person)}
    rows = [
        {
            "kind": kind,
            "label": label,
            "in_app": stored[kind].in_app if kind in stored else True,
            "email": stored[kind].email if kind in stored else True,
        }
        for kind, label in NotificationKind.choices
    ]
    return render(request, "web/notifications/settings.html",
                  {"rows": rows, "has_email": bool(person.email)})
