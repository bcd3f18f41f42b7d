"""Stamps laid over a signed PDF as incremental updates, and the rule that recognises them.

Saraban's own later marks on a signed letter (a receipt stamp, an endorsement) must not break
its signatures, so they are added as a ``/Stamp`` annotation in a new revision: the signed
bytes stay as they are. Each such annotation is named ``saraban-overlay:<uuid>`` and is
locked (it cannot be moved or edited in a viewer).

Verification accepts a revision that does nothing but add such annotations: pyHanko's
difference analysis runs with ``OverlayRule`` added, which clears those annotations, their
appearance streams (new objects only) and the page's ``/Annots`` entry at the level
``ANNOTATIONS``, a level pyHanko's own rules never use. Anything else in the revision stays
unexplained, so the file is reported as modified. A certification signature that forbids
annotations still forbids them.
"""

from __future__ import annotations

import functools
import io
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from pyhanko.pdf_utils import generic
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    FormUpdatingRule,
    GenericFieldModificationRule,
    ModificationLevel,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
)

if TYPE_CHECKING:
    from pyhanko.pdf_utils.reader import HistoricalResolver

OVERLAY_PREFIX: Final = "saraban-overlay:"
_PRINT_AND_LOCKED: Final = 4 | 128


def is_overlay(annot: object) -> bool:
    """A Saraban overlay annotation: a ``/Stamp`` named with our prefix, not a form field."""
    if not isinstance(annot, generic.DictionaryObject):
        return False
    name = annot.get("/NM")
    return (
        annot.get("/Subtype") == "/Stamp"
        and isinstance(name, str)
        and name.startswith(OVERLAY_PREFIX)
        and "/FT" not in annot
        and "/Parent" not in annot
    )


def _is_signature_widget(annot: object) -> bool:
    """A widget annotation of a signature field (the field itself is vetted by pyHanko's
    form rules; only its binding to the page is judged here)."""
    if not isinstance(annot, generic.DictionaryObject) or annot.get("/Subtype") != "/Widget":
        return False
    if annot.get("/FT") == "/Sig":
        return True
    parent = annot.get("/Parent")
    return isinstance(parent, generic.DictionaryObject) and parent.get("/FT") == "/Sig"


def _pages(node: generic.DictionaryObject, depth: int = 0) -> Iterator[generic.DictionaryObject]:
    if depth > 64:
        raise SuspiciousModification("Page tree too deep")
    if node.get("/Type") == "/Pages":
        for kid in node.get("/Kids", ()):
            yield from _pages(kid.get_object(), depth + 1)
    else:
        yield node


def _annot_refs(page: generic.DictionaryObject) -> list[generic.Reference]:
    annots = page.get("/Annots")
    if annots is None:
        return []
    return [a.reference for a in annots if isinstance(a, generic.IndirectObject)]


class OverlayRule(QualifiedWhitelistRule):
    """Clear the page bindings of new annotations: signature widgets (at ``LTA_UPDATES``, as
    pyHanko's own rule does) and Saraban overlays with their appearances (``ANNOTATIONS``).

    It replaces the widget-binding step of pyHanko's ``SigFieldCreationRule`` (turned off in
    ``diff_policy``), which would refuse a page that also carries an overlay. Any other new
    annotation makes the walk fail, so the revision counts as a modification.
    """

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterator[tuple[ModificationLevel, ReferenceUpdate]]:
        ours: dict[generic.Reference, str] = {}
        widgets: dict[generic.Reference, str] = {}
        for page in _pages(new.root["/Pages"]):
            for ref in _annot_refs(page):
                if not old.is_ref_available(ref):
                    continue  # it existed before: not an addition
                annot = new(ref)
                if is_overlay(annot):
                    ours[ref] = ""
                elif _is_signature_widget(annot):
                    widgets[ref] = ""
        if not ours and not widgets:
            return
        from pyhanko.sign.diff_analysis.rules.form_field_rules import _walk_page_tree_annots

        level = ModificationLevel.ANNOTATIONS if ours else ModificationLevel.LTA_UPDATES
        # The page dictionaries may change only in /Annots, and only by these additions.
        for update in _walk_page_tree_annots(
            old.root["/Pages"], new.root["/Pages"], {**widgets, **ours}, old,
            valid_when_locked=True, refs_seen=set(),
        ):
            yield level, ReferenceUpdate(
                updated_ref=update.updated_ref, context_checked=update.context_checked
            )
        for ref in ours:
            yield ModificationLevel.ANNOTATIONS, ReferenceUpdate(ref)
            annot = new(ref)
            for key in ("/AP",):
                if key in annot:
                    deps = new.collect_dependencies(
                        annot.raw_get(key), since_revision=old.revision + 1
                    )
                    for dep in deps:
                        yield ModificationLevel.ANNOTATIONS, ReferenceUpdate(dep)


@functools.cache
def diff_policy() -> StandardDiffPolicy:
    """pyHanko's default difference policy, with ``OverlayRule`` judging new annotations."""
    return StandardDiffPolicy(
        global_rules=[*DEFAULT_DIFF_POLICY.global_rules, OverlayRule()],
        form_rule=FormUpdatingRule(
            field_rules=[
                SigFieldCreationRule(  # type: ignore[no-untyped-call]
                    approve_widget_bindings=False
                ),
                SigFieldModificationRule(),
                GenericFieldModificationRule(),
            ],
        ),
    )


def add_overlay(
    pdf: bytes, overlay: bytes, *, page: int, box: tuple[float, float, float, float],
    note: str = "",
) -> bytes:
    """``pdf`` plus a revision that lays the first page of ``overlay`` over ``box`` on
    ``page`` (0-based, -1 the last) as a locked Saraban stamp annotation."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref, _ = writer.find_page_for_modification(page)  # type: ignore[no-untyped-call]
    page_obj: Any = page_ref.get_object()
    appearance = writer.import_page_as_xobject(
        PdfFileReader(io.BytesIO(overlay)), page_ix=0
    )
    x1, y1, x2, y2 = box
    rect = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
    annot = writer.add_object(
        generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Stamp"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.FloatObject(v) for v in rect]  # type: ignore[no-untyped-call]
            ),
            generic.NameObject("/NM"): generic.TextStringObject(
                f"{OVERLAY_PREFIX}{uuid.uuid4()}"
            ),
            generic.NameObject("/Contents"): generic.TextStringObject(note),
            generic.NameObject("/F"): generic.NumberObject(_PRINT_AND_LOCKED),  # type: ignore[no-untyped-call]
            generic.NameObject("/P"): page_ref,
            generic.NameObject("/AP"): generic.DictionaryObject(  # type: ignore[no-untyped-call]
                {generic.NameObject("/N"): appearance}
            ),
        })
    )
    annots_raw = page_obj.raw_get("/Annots") if "/Annots" in page_obj else None
    if annots_raw is None:
        page_obj[generic.NameObject("/Annots")] = generic.ArrayObject([annot])
    else:
        annots = annots_raw.get_object()
        annots.append(annot)
        if isinstance(annots_raw, generic.IndirectObject):
            writer.update_container(annots)
    writer.update_container(page_obj)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()
