"""Notifications (the bell, the list, preferences) and circulars' read receipts."""

from django.urls import path

from .views import circulars, notifications

urlpatterns = [
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/bell/", notifications.bell, name="notification_bell"),
    path("notifications/read-all/", notifications.notifications_read_all,
         name="notifications_read_all"),
    path("notifications/settings/", notifications.notification_settings,
         name="notification_settings"),
    path("notifications/<int:notification_id>/", notifications.notification_open,
         name="notification_open"),
    path("circulars/", circulars.my_circulars, name="my_circulars"),
    path("circulars/<int:recipient_id>/acknowledge/", circulars.circular_ack,
         name="circular_acknowledge"),
    path("letters/<int:letter_id>/circular/", circulars.circular_send, name="circular_send"),
    path("letters/<int:letter_id>/circular/receipts/", circulars.circular_receipts,
         name="circular_receipts"),
]
