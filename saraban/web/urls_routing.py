"""Routes of the routing UI: endorse/assign on a letter, the assignee's actions, tracking."""

from django.urls import URLPattern, path

from .views import routing

urlpatterns: list[URLPattern] = [
    path("letters/<int:letter_id>/endorse/", routing.endorse, name="routing_endorse"),
    path("assignments/<int:assignment_id>/<str:action>/", routing.assignment_action,
         name="routing_action"),
    path("desk/", routing.my_desk, name="my_desk"),
    path("unit/", routing.my_unit, name="my_unit"),
    path("sent/", routing.my_sent, name="my_sent"),
    path("pending/", routing.pending_agency, name="pending_agency"),
]
