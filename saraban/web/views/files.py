"""Letter files (placeholder)."""

from django.http import Http404, HttpRequest, HttpResponse


def letter_file(request: HttpRequest, letter_id: int, file_id: int) -> HttpResponse:
    raise Http404


def letter_stamped(request: HttpRequest, letter_id: int, entry_id: int) -> HttpResponse:
    raise Http404
