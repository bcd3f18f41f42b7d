"""Mark a letter for indexing whenever it, or something indexed with it, is saved.

The mark is written in the same transaction as the change, so it commits (or rolls back)
with it; the worker indexes marked letters after commit (``index.index_dirty``).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from saraban.letters.models import Dispatch, Letter, LetterFile, RegisterEntry

from .index import mark_dirty


def _letter_saved(sender: Any, instance: Letter, **kwargs: Any) -> None:
    mark_dirty([instance.pk])


def _part_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    letter_id = getattr(instance, "letter_id", None)
    if letter_id is not None:
        mark_dirty([letter_id])


post_save.connect(_letter_saved, sender=Letter, dispatch_uid="search_letter")
post_delete.connect(_letter_saved, sender=Letter, dispatch_uid="search_letter_delete")
for _model in (LetterFile, RegisterEntry, Dispatch):
    post_save.connect(_part_saved, sender=_model, dispatch_uid=f"search_{_model.__name__}")


def connect_routing() -> None:
    """Endorsements and assignments (the routing area) are indexed with their letter too."""
    from saraban.routing.models import Assignment, Endorsement

    for model in (Endorsement, Assignment):
        post_save.connect(_part_saved, sender=model, dispatch_uid=f"search_{model.__name__}")


def connect_intake() -> None:
    """A scan's OCR text is indexed with the letter it was registered as, also when the
    OCR finishes after the registration."""
    from django.apps import apps

    if apps.is_installed("saraban.intake"):
        model = apps.get_model("intake", "ScanIntake")
        post_save.connect(_part_saved, sender=model, dispatch_uid="search_ScanIntake")


connect_routing()
connect_intake()
