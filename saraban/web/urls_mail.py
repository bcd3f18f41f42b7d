"""Routes of the central e-mail address: the mailbox settings, what was kept apart, and the
original mail of an arrival (under ``exchange/mail/``)."""

from django.urls import URLPattern, path

from .views import exchange_mail

urlpatterns: list[URLPattern] = [
    path("", exchange_mail.mail_settings, name="exchange_mail"),
    path("poll/", exchange_mail.mail_poll, name="exchange_mail_poll"),
    path("kept/", exchange_mail.mail_kept, name="exchange_mail_kept"),
    # ?seen=<id>: the id in the query, so every route here takes only ids the GET sweep
    # (web/tests/test_get_sweep.py) knows how to fill.
    path("kept/original/", exchange_mail.mail_kept_original,
         name="exchange_mail_kept_original"),
    path("inbox/<int:message_id>/original/", exchange_mail.mail_original,
         name="exchange_mail_original"),
]
