"""A province node hosting 50 local administrative organisations (LAOs).

Letters among them go through the local transport with the same statuses and receipts as
between nodes, and no LAO's clerk sees another LAO's letters.
"""

from __future__ import annotations

from dataclasses import dataclass

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Agency, AgencyKind, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.agencies.services import agency_create
from saraban.exchange.directory import agency_enrol
from saraban.exchange.inbox import exchange_inbox_register
from saraban.exchange.models import InboxMessage, InState, OutboxMessage, OutState
from saraban.exchange.worker import drain
from saraban.letters.access import visible_letters
from saraban.letters.models import Registry
from saraban.letters.registries import registry_open
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

LAOS = 50


@dataclass
class Lao:
    agency: Agency
    registry: Registry
    clerk: Actor


def host_laos(province: Agency, n: int) -> list[Lao]:
    laos = []
    for i in range(n):
        agency = agency_create(kind=AgencyKind.SAO, name_th=f"องค์การบริหารส่วนตำบลที่ {i + 1}",
                               parent=province, is_tenant=True, letter_code="ชม",
                               office_code=f"7{i:04d}")
        registry = registry_open(unit=agency, is_central=True)
        agency_enrol(agency=agency, code=f"lao-{i:02d}")
        agency.refresh_from_db()
        person = make_person(f"lao-clerk-{i:02d}", f"ธุรการ ที่ {i + 1}", agency=agency,
                             password=None)
        RoleGrant.objects.create(person=person, unit=agency, role=Role.REGISTRY_CLERK)
        laos.append(Lao(agency, registry, resolve_actor(person)))
    return laos


def send(actor: Actor, registry: Registry, subject: str, to: list[Agency]):
    return letter_register_outgoing(
        actor=actor, registry=registry,
        details=LetterDetails(kind="external", subject=subject),
        recipients=[Recipient(channel="saraban", agency=a) for a in to],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )


def test_fifty_laos_on_one_node_exchange_letters_with_receipts(org, province_clerk):
    laos = host_laos(org.province, LAOS)
    for i, lao in enumerate(laos):
        nxt = laos[(i + 1) % LAOS]
        send(lao.clerk, lao.registry, f"ขอความร่วมมือ จาก อบต.ที่ {i + 1}", [nxt.agency])
    circular = send(province_clerk, org.province_registry, "หนังสือเวียน แจ้งทุก อปท.",
                    [lao.agency for lao in laos])
    assert OutboxMessage.objects.filter(letter=circular.letter).count() == LAOS
    assert OutboxMessage.objects.filter(state=OutState.QUEUED).count() == 2 * LAOS

    drain()
    assert OutboxMessage.objects.filter(type="letter", state=OutState.SENT).count() == 2 * LAOS
    for lao in laos:
        waiting = InboxMessage.objects.filter(recipient=lao.agency, state=InState.WAITING)
        assert waiting.count() == 2
        for message in waiting:
            exchange_inbox_register(actor=lao.clerk, message=message)
    drain()

    letters = OutboxMessage.objects.filter(type="letter")
    assert letters.count() == 2 * LAOS
    assert set(letters.values_list("state", flat=True)) == {OutState.REGISTERED}
    assert InboxMessage.objects.count() == 2 * LAOS, "each letter arrived once"
    for out in letters:
        arrived = InboxMessage.objects.select_related("entry").get(
            sender_code=out.sender_code, message_id=out.message_id
        )
        assert arrived.recipient.exchange_code == out.recipient_code
        assert arrived.entry is not None
        assert out.receipt_number == arrived.entry.formatted
        assert out.registered_at == arrived.entry.registered_at

    for i, lao in enumerate(laos):
        seen = visible_letters(lao.clerk.person)
        assert set(seen.values_list("tenant_id", flat=True)) == {lao.agency.pk}
        subjects = set(seen.values_list("subject", flat=True))
        assert subjects == {
            f"ขอความร่วมมือ จาก อบต.ที่ {i + 1}",
            f"ขอความร่วมมือ จาก อบต.ที่ {(i - 1) % LAOS + 1}",
            "หนังสือเวียน แจ้งทุก อปท.",
        }
    province_sees = visible_letters(province_clerk.person)
    assert set(province_sees.values_list("tenant_id", flat=True)) == {org.province.pk}
