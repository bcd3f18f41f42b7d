"""Signals of the letters area for changes that no model ``save`` announces.

``letters_changed`` is sent (``letter_ids=[...]``) inside the transaction of a change made with
``bulk_create`` or ``update`` to something counted with a letter (a circular's recipients, for
instance), so the areas that keep figures about letters can mark them, as ``post_save`` lets
them for single saves.
"""

from __future__ import annotations

from django.dispatch import Signal

letters_changed = Signal()
