"""Routes for registering scanned paper letters through OCR (ลงทะเบียนรับจากภาพสแกน)."""

from django.urls import path

from .views import intake

urlpatterns = [
    path("intake/", intake.intake_start, name="intake"),
    path("intake/<int:intake_id>/", intake.intake_detail, name="intake_detail"),
    path("intake/<int:intake_id>/status/", intake.intake_status, name="intake_status"),
    path("intake/<int:intake_id>/<str:which>/", intake.intake_file, name="intake_file"),
]
