"""Routes of the drafting UI: compose, preview, versions, the approval chain and signing."""

from django.urls import URLPattern, path

from .views import drafts

urlpatterns: list[URLPattern] = [
    path("drafts/", drafts.draft_list, name="draft_list"),
    path("drafts/new/", drafts.draft_new, name="draft_new"),
    path("drafts/preview/", drafts.draft_preview, name="draft_preview"),
    path("drafts/preview/<str:key>.pdf", drafts.draft_preview_pdf, name="draft_preview_pdf"),
    path("drafts/<int:draft_id>/", drafts.draft_detail, name="draft_detail"),
    path("drafts/<int:draft_id>/edit/", drafts.draft_edit, name="draft_edit"),
    path("drafts/<int:draft_id>/preview/", drafts.draft_preview, name="draft_preview_edit"),
    path("drafts/<int:draft_id>/pdf/", drafts.draft_pdf, name="draft_pdf"),
    path("drafts/<int:draft_id>/versions/", drafts.draft_versions, name="draft_versions"),
    path("drafts/<int:draft_id>/versions/<int:number>/pdf/", drafts.draft_pdf,
         name="draft_version_pdf"),
    path("drafts/<int:draft_id>/compare/", drafts.draft_compare, name="draft_compare"),
    path("drafts/<int:draft_id>/submit/", drafts.draft_submit_view, name="draft_submit"),
    path("drafts/<int:draft_id>/cancel/", drafts.draft_cancel_view, name="draft_cancel"),
    path("drafts/<int:draft_id>/<str:action>/", drafts.draft_step, name="draft_step"),
]
