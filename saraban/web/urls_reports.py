"""The indicators: the dashboard, its exports and the LPA evidence pack."""

from django.urls import path

from .views import reports

urlpatterns = [
    path("reports/", reports.reports_dashboard, name="reports"),
    path("reports/export/", reports.reports_export, name="reports_export"),
    path("reports/letters/", reports.reports_letters, name="reports_letters"),
    path("reports/lpa/", reports.reports_lpa, name="reports_lpa"),
    path("registers/<int:registry_id>/<str:kind>/print.pdf", reports.register_pdf_view,
         name="register_pdf"),
]
