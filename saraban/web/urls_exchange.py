"""Routes of the exchange UI: the electronic inbox, outbox buttons, the directory and e-CMS."""

from django.urls import URLPattern, path

from .views import exchange, exchange_correct, exchange_ecms

urlpatterns: list[URLPattern] = [
    path("inbox/", exchange.inbox, name="exchange_inbox"),
    path("inbox/<int:message_id>/register/", exchange.inbox_register,
         name="exchange_inbox_register"),
    path("inbox/<int:message_id>/<str:action>/", exchange.inbox_decline,
         name="exchange_inbox_decline"),
    path("inbox/<int:message_id>/files/<int:file_id>/", exchange.inbox_file,
         name="exchange_inbox_file"),
    path("outbox/<uuid:message_id>/correct/", exchange_correct.outbox_correct,
         name="exchange_outbox_correct"),
    path("outbox/<uuid:message_id>/dispute/", exchange_ecms.outbox_dispute,
         name="exchange_outbox_dispute"),
    path("outbox/<uuid:message_id>/<str:action>/", exchange.outbox_action,
         name="exchange_outbox_action"),
    path("directory/", exchange.directory, name="exchange_directory"),
    path("directory/export/", exchange.directory_export, name="exchange_directory_export"),
    path("directory/ecms/add/", exchange_ecms.ecms_entry_add, name="exchange_ecms_add"),
    path("ecms/", exchange_ecms.ecms_settings, name="exchange_ecms"),
    path("ecms/import/", exchange_ecms.ecms_import, name="exchange_ecms_import"),
]
