"""Background jobs of the signatures area, run by the worker after the action commits."""

from __future__ import annotations

from django.tasks import task

from saraban.letters.models import Letter

from .services import letter_checks_missing


@task()
def check_letter_signatures(letter_id: int) -> int:
    """Verify the files of a letter that have no stored verdict yet; how many were checked."""
    letter = Letter.objects.filter(pk=letter_id).first()
    if letter is None:
        return 0
    return len(letter_checks_missing(letter))
