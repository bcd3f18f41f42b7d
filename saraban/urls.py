from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("saraban.api.urls")),
    path("exchange/v1/", include("saraban.exchange.urls")),
    path("metrics", include("saraban.reports.urls")),
    path("", include("saraban.web.urls")),
]
