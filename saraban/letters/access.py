"""The one access rule for letters, used by every page, list, API call and export.

A person sees a letter when it belongs to their tenant agency and

* it is secret (ลับ, ลับมาก, ลับที่สุด): they are named on it, nothing else counts; or
* it is not secret: it is owned by, registered in, or handed over to a unit in their scope.

Their scope is built from their role grants and positions:

* a registry clerk or executive grant on a unit covers the unit and everything below it;
* an officer grant covers that unit only;
* an agency admin grant manages the organisation and gives no sight of letters;
* a position they hold, or act for today, covers its unit, and its subtree when the position
  is the head of the unit; acting in a post also brings the executive grants of the person
  whose post it is (รักษาราชการแทน acts with the post's reach);

and, beyond their scope, a non-secret letter assigned to them (to them, to a position they
hold or act for today) or a circular addressed to them. A secret letter assigned to a person
names them as a reader.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from saraban.agencies.actors import positions_for
from saraban.agencies.models import Agency, Person, Role, RoleGrant
from saraban.core.errors import NotFound, PermissionDenied

from .models import Handover, Letter, RegisterEntry, Registry

SUBTREE_ROLES = frozenset({Role.REGISTRY_CLERK, Role.EXECUTIVE})


def _subtree_ids(roots: set[tuple[str, int | None]]) -> set[int]:
    """Ids of the units below each root that belong to the root's own tenant.

    An LAO sits under its province in the tree but is an agency of its own: a grant on the
    province does not reach into it.
    """
    if not roots:
        return set()
    query = Q()
    for path, tenant_id in roots:
        query |= Q(path__startswith=path, tenant_id=tenant_id)
    return set(Agency.objects.filter(query).values_list("id", flat=True))


def scope_unit_ids(person: Person) -> frozenset[int]:
    """Every unit id whose non-secret letters this person may see."""
    cached: frozenset[int] | None = getattr(person, "_saraban_scope", None)
    if cached is not None:
        return cached
    if not person.is_authenticated or not person.is_active:
        return frozenset()
    subtree_roots: set[tuple[str, int | None]] = set()
    direct: set[int] = set()
    for role, unit_id, path, tenant_id in RoleGrant.objects.filter(person=person).values_list(
        "role", "unit_id", "unit__path", "unit__tenant_id"
    ):
        if role in SUBTREE_ROLES:
            subtree_roots.add((path, tenant_id))
        elif role == Role.OFFICER:
            direct.add(unit_id)
    acted_for_holders: set[int] = set()
    positions = positions_for(person)
    for position, kind in positions:
        if position.is_head:
            subtree_roots.add((position.unit.path, position.unit.tenant_id))
        else:
            direct.add(position.unit_id)
        if kind and position.holder_id is not None:
            acted_for_holders.add(position.holder_id)
    # Acting in a post brings the post's executive reach (the holder's executive grants).
    subtree_roots |= set(
        RoleGrant.objects.filter(
            person_id__in=acted_for_holders, role=Role.EXECUTIVE
        ).values_list("unit__path", "unit__tenant_id")
    )
    scope = frozenset(_subtree_ids(subtree_roots) | direct)
    person._saraban_scope = scope  # type: ignore[attr-defined]
    person._saraban_position_ids = [p.pk for p, _kind in positions]  # type: ignore[attr-defined]
    return scope


def _position_ids(person: Person) -> list[int]:
    """The positions the person may act in today, read with their scope (and kept with it)."""
    scope_unit_ids(person)
    cached: list[int] | None = getattr(person, "_saraban_position_ids", None)
    return cached if cached is not None else [p.pk for p, _kind in positions_for(person)]


def visible_letters(person: Person) -> QuerySet[Letter]:
    """All letters this person may see: the base of every list, search and export."""
    if not person.is_authenticated or not person.is_active:
        return Letter.objects.none()
    return Letter.objects.filter(visibility(person))


def visibility(person: Person, *, id_field: str = "pk") -> Q:
    """The access rule as a condition on a letter's ``tenant_id``, ``secrecy``, ``unit_id``
    and its id (``id_field``): for ``Letter`` itself, and for tables that copy those columns
    (the search index), so they are filtered by the same rule without a join."""
    if not person.is_authenticated or not person.is_active:
        return Q(pk__in=[])
    letter_in = f"{id_field}__in"
    scope = scope_unit_ids(person)
    secret_ids = Letter.secret_readers.through.objects.filter(person_id=person.pk).values(
        "letter_id"
    )
    registered_ids = RegisterEntry.objects.filter(series__registry__unit_id__in=scope).values(
        "letter_id"
    )
    handed_ids = Handover.objects.filter(to_registry__unit_id__in=scope).values("letter_id")
    from saraban.routing.models import Assignment, CircularRecipient

    positions = _position_ids(person)
    assigned_ids = Assignment.objects.filter(
        Q(to_person=person) | Q(to_position__in=positions) | Q(to_unit__in=scope)
    ).values("letter_id")
    circular_ids = CircularRecipient.objects.filter(
        Q(person=person) | Q(unit__in=scope)
    ).values("letter_id")
    # Cheapest first: most letters a person sees are owned by a unit in their scope.
    open_letters = Q(secrecy=0) & (
        Q(unit_id__in=scope) | Q(**{letter_in: registered_ids}) | Q(**{letter_in: handed_ids})
        | Q(**{letter_in: assigned_ids}) | Q(**{letter_in: circular_ids})
    )
    # The tenant boundary holds even where the tree does not: an LAO sits under its province.
    return Q(tenant_id=person.agency_id) & (
        open_letters | (Q(secrecy__gt=0) & Q(**{letter_in: secret_ids}))
    )


def access_letter(person: Person, letter_id: int) -> Letter:
    """The letter, if this person may see it; otherwise ``NotFound`` (its existence is hidden)."""
    letter = visible_letters(person).filter(pk=letter_id).first()
    if letter is None:
        raise NotFound("ไม่พบหนังสือ หรือท่านไม่มีสิทธิ์เข้าถึง", code="letter_not_found")
    return letter


def can_see(person: Person, letter: Letter) -> bool:
    return visible_letters(person).filter(pk=letter.pk).exists()


def registries_for(person: Person) -> QuerySet[Registry]:
    """The registries where this person may register letters (as a registry clerk)."""
    roots = set(
        RoleGrant.objects.filter(person=person, role=Role.REGISTRY_CLERK).values_list(
            "unit__path", "unit__tenant_id"
        )
    )
    if not roots:
        return Registry.objects.none()
    return Registry.objects.filter(
        unit_id__in=_subtree_ids(roots), tenant_id=person.agency_id
    ).select_related("unit")


def access_registry(person: Person, registry_id: int) -> Registry:
    """A registry this person works in as a clerk, or ``PermissionDenied``."""
    registry = registries_for(person).filter(pk=registry_id).first()
    if registry is None:
        raise PermissionDenied("ท่านไม่มีสิทธิ์ลงทะเบียนในทะเบียนนี้", code="registry_forbidden")
    return registry


def viewable_registries(person: Person) -> QuerySet[Registry]:
    """Registries whose registers this person may browse (entries still filtered per letter)."""
    return Registry.objects.filter(
        unit_id__in=scope_unit_ids(person), tenant_id=person.agency_id
    ).select_related("unit")
