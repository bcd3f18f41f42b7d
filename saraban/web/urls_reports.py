"""The indicators: the dashboard and its exports."""

from django.urls import path

from .views import reports

urlpatterns = [
    path("reports/", reports.reports_dashboard, name="reports"),
    path("reports/export/", reports.reports_export, name="reports_export"),
    path("reports/letters/", reports.reports_letters, name="reports_letters"),
    path("registers/<int:registry_id>/<str:kind>/print.pdf", reports.register_pdf_view,
         name="register_pdf"),
]
