"""Web routes; each part of the UI keeps its own list (see urls_*.py)."""

from django.urls import include, path

from .urls_browse import urlpatterns as browse
from .urls_exchange import urlpatterns as exchange_urls
from .urls_onboarding import urlpatterns as onboarding
from .urls_register import urlpatterns as register
from .urls_reports import urlpatterns as reports
from .urls_routing import urlpatterns as routing_urls

app_name = "web"
urlpatterns = [
    *browse, *register, *reports, path("onboarding/", include(onboarding)),
    path("exchange/", include(exchange_urls)),
    path("exchange/mail/", include("saraban.web.urls_mail")),
    path("routing/", include(routing_urls)),
    path("", include("saraban.web.urls_notify")),
    path("", include("saraban.web.urls_evidence")),
    path("", include("saraban.web.urls_drafts")),
    path("", include("saraban.web.urls_search")),
    path("", include("saraban.web.urls_intake")),
    path("", include("saraban.web.urls_account")),
]
