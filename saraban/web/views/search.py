"""The search page: one box plus filters over the letters the person may see.

The engine (``saraban.search.query.search``) applies the access rule, so a letter the person
may not see is neither listed nor counted. This view only parses the form, calls it, and adds
what the result rows show (sender/recipient names, the registration numbers) in a fixed number
of queries. An htmx request gets only the results part, so filters and pages swap in place.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from saraban.core.errors import ValidationFailed
from saraban.letters.models import RegisterEntry
from saraban.search.query import Results, search

from ..forms_search import SearchForm
from .browse import person_of

PAGE_SIZE = 20


def _page_number(raw: str | None) -> int:
    """The requested page; anything that is not a positive number is the first page."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _with_details(results: Results) -> Results:
    """Load the names and register entries the rows show, in one query per relation."""
    prefetch_related_objects(
        [hit.letter for hit in results.hits],
        "sender_agency",
        "recipient_agency",
        Prefetch(
            "entries",
            queryset=RegisterEntry.objects.select_related("series").order_by(
                "registered_at", "pk"
            ),
        ),
    )
    return results


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    form = SearchForm(request.GET, person=person)
    results: Results | None = None
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        page = _page_number(request.GET.get("page"))
        try:
            results = search(person, data["q"], form.filters(), order=data["order"],
                             page=page, page_size=PAGE_SIZE)
            if results.pages and page > results.pages:
                results = search(person, data["q"], form.filters(), order=data["order"],
                                 page=results.pages, page_size=PAGE_SIZE)
        except ValidationFailed as exc:
            error = exc.message
        else:
            _with_details(results)
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "form": form,
        "results": results,
        "error": error,
        "query": query.urlencode(),
        "browsing": results is not None and not form.cleaned_data["q"].strip()
        and not form.has_filters,
    }
    template = "search/page.html"
    if getattr(request, "htmx", False):
        template = "search/_results.html"
    return render(request, template, context)
