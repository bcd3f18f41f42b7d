"""Routes for issued evidence documents: the staff screens and the public verification page.

``/verify/<token>/`` is public (no login); its JSON twin ``/verify/<token>.json`` comes first
so the ``.json`` suffix is never read as part of a token.
"""

from django.urls import path, re_path

from .views import evidence

urlpatterns = [
    re_path(r"^verify/(?P<token>[^/]+?)\.json$", evidence.verify_json,
            name="evidence_verify_json"),
    path("verify/<str:token>/", evidence.verify_page, name="evidence_verify"),
    path("evidence/", evidence.evidence_list, name="evidence_list"),
    path("evidence/issue/", evidence.evidence_issue_view, name="evidence_issue"),
    path("evidence/<int:doc_id>/", evidence.evidence_detail, name="evidence_detail"),
    path("evidence/<int:doc_id>/pdf/", evidence.evidence_pdf, name="evidence_pdf"),
    path("evidence/<int:doc_id>/revoke/", evidence.evidence_revoke_view,
         name="evidence_revoke"),
]
