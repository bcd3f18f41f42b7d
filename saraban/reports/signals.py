"""Mark a letter's registration days to be counted again whenever something counted with it
changes: its register lines, the letter itself (direction, arrival channel), its recipients,
its files, its hand-overs, the signature checks of its main file, its assignments and the
read receipts of a circular. The mark is written in the transaction of the change
(``tallies.mark``)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from saraban.letters.models import (
    Dispatch,
    FileRole,
    Handover,
    Letter,
    LetterFile,
    RegisterEntry,
)
from saraban.letters.signals import letters_changed
from saraban.routing.models import Assignment, CircularRecipient
from saraban.signatures.models import SignatureCheck

from .tallies import mark

#: The fields of a letter that a figure depends on.
_COUNTED = frozenset({"direction", "received_via"})


def _letter_saved(sender: Any, instance: Letter, update_fields: Any = None,
                  **kwargs: Any) -> None:
    if update_fields is None or _COUNTED & set(update_fields):
        mark([instance.pk])


def _part_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    mark([getattr(instance, "letter_id", None)])


def _check_saved(sender: Any, instance: SignatureCheck, **kwargs: Any) -> None:
    mark(LetterFile.objects.filter(blob_id=instance.blob_id, role=FileRole.MAIN,
                                   letter__tenant_id=instance.tenant_id)
         .values_list("letter_id", flat=True))


def _letters_changed(sender: Any, letter_ids: Any = (), **kwargs: Any) -> None:
    mark(letter_ids)


post_save.connect(_letter_saved, sender=Letter, dispatch_uid="tally_letter")
for _model in (RegisterEntry, Dispatch, LetterFile, Handover, Assignment, CircularRecipient):
    post_save.connect(_part_saved, sender=_model, dispatch_uid=f"tally_{_model.__name__}")
    post_delete.connect(_part_saved, sender=_model, dispatch_uid=f"tally_del_{_model.__name__}")
post_save.connect(_check_saved, sender=SignatureCheck, dispatch_uid="tally_check")
post_delete.connect(_check_saved, sender=SignatureCheck, dispatch_uid="tally_del_check")
letters_changed.connect(_letters_changed, dispatch_uid="tally_letters_changed")
