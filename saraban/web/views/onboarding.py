"""The onboarding screen: bring a new agency onto the node, step by step on one page.

Sections 1–5 (agency, units, responsible people, first numbers, users), then a review page
that shows what will be created, then confirm: the same action as ``saraban onboard_agency``
(``agency_onboard``) runs, and the initial passwords are shown once. Only superusers (node
operators) and agency admins (for agencies below their own) may use it.
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import AgencyKind, Person, Role, RoleGrant
from saraban.agencies.onboarding import (
    agency_onboard,
    onboarding_validate,
    with_generated_passwords,
)
from saraban.core.errors import SarabanError
from saraban.letters.models import Registry

from ..forms_onboarding import OnboardingForm

# Fields of the spec that the form shows under another name.
_FIELD_OF = {
    "username": None, "full_name_th": None, "roles": "users", "unit": "users",
    "start_numbers": None, "email": "email",
}


def may_onboard(person: Person) -> bool:
    return person.is_superuser or RoleGrant.objects.filter(
        person=person, role=Role.AGENCY_ADMIN).exists()


def _show_error(form: OnboardingForm, exc: SarabanError) -> None:
    field = _FIELD_OF.get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, f"{exc.message} [{exc.code}]")


@login_required
@require_http_methods(["GET", "POST"])
def onboarding(request: HttpRequest) -> HttpResponse:
    person = cast(Person, request.user)
    if not may_onboard(person):
        return render(request, "web/onboarding/forbidden.html", status=403)
    if request.method == "GET":
        form = OnboardingForm(person=person)
        return render(request, "web/onboarding/form.html", {"form": form})
    form = OnboardingForm(request.POST, person=person)
    step = request.POST.get("step", "review")
    if step == "edit":  # back from the review page, with everything typed so far
        return render(request, "web/onboarding/form.html", {"form": form})
    if not form.is_valid():
        return render(request, "web/onboarding/form.html", {"form": form}, status=400)
    actor = resolve_actor(person)
    spec = form.spec()
    try:
        if step != "confirm":
            onboarding_validate(actor=actor, spec=spec)
            return render(request, "web/onboarding/review.html", {
                "form": form, "spec": spec, "kind_label": AgencyKind(spec.kind).label,
            })
        spec, passwords = with_generated_passwords(spec)
        agency = agency_onboard(actor=actor, spec=spec)
    except SarabanError as exc:
        _show_error(form, exc)
        return render(request, "web/onboarding/form.html", {"form": form}, status=exc.status)
    return render(request, "web/onboarding/done.html", {
        "agency": agency,
        "units": agency.subtree().exclude(pk=agency.pk),
        "registries": Registry.objects.filter(tenant=agency).select_related("unit")
        .prefetch_related("series__years"),
        "people": agency.people.prefetch_related("grants", "positions").order_by("pk"),
        "passwords": passwords,
    })
