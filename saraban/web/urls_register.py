"""Routes for registering letters: incoming, outgoing, cancelling, handing over."""

from django.urls import path

from .views import register

urlpatterns = [
    path("register/incoming/", register.register_incoming, name="register_incoming"),
    path("register/outgoing/", register.register_outgoing, name="register_outgoing"),
    path("entries/<int:entry_id>/cancel/", register.entry_cancel_view, name="entry_cancel"),
    path(
        "letters/<int:letter_id>/hand-over/",
        register.letter_hand_over_view,
        name="letter_hand_over",
    ),
    path("handovers/", register.handovers, name="handovers"),
    path(
        "handovers/<int:handover_id>/register/",
        register.handover_register_view,
        name="handover_register",
    ),
]
