"""A generated organisation for the indicator tests: the sample organisation plus three LAOs
under the province, letters registered through the real actions at moments on the edges of
months, quarters, fiscal and calendar years (Bangkok days, where UTC is still the day before),
every channel, secret letters, cancelled numbers, hand-overs to a unit, and main files signed
with a trusted CA, an unknown CA, or not at all.

``count_*`` recount the same figures in plain Python from every register line, dispatch,
hand-over and signature check, without the indicators' queries: the oracle.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import time_machine

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Agency, AgencyKind, Person, Role, RoleGrant
from saraban.agencies.sample import SampleOrg, make_person
from saraban.agencies.services import agency_create
from saraban.core.thai import BANGKOK
from saraban.exchange.directory import agency_enrol
from saraban.exchange.ecms.accounts import ecms_account_set
from saraban.exchange.testing import tiny_pdf
from saraban.letters.models import (
    Dispatch,
    Handover,
    LetterFile,
    RegisterEntry,
    Registry,
)
from saraban.letters.registries import registry_open
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    handover_register,
    letter_hand_over,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.reports.periods import Period
from saraban.signatures.models import SignatureCheck
from saraban.signatures.pades import sign_pdf
from saraban.signatures.testing import TestPKI, make_seal

B = BANGKOK

#: Moments on the edges: the last and first seconds of a fiscal year, a calendar year, a
#: quarter and a month (in Bangkok; the first ones are still the day before in UTC).
EDGES = [
    dt.datetime(2025, 9, 30, 23, 59, 40, tzinfo=B), dt.datetime(2025, 10, 1, 0, 0, 20, tzinfo=B),
    dt.datetime(2025, 12, 31, 23, 59, 50, tzinfo=B), dt.datetime(2026, 1, 1, 0, 0, 10, tzinfo=B),
    dt.datetime(2026, 3, 31, 23, 59, 0, tzinfo=B), dt.datetime(2026, 4, 1, 6, 59, 0, tzinfo=B),
    dt.datetime(2026, 9, 30, 16, 59, 59, tzinfo=B), dt.datetime(2026, 9, 30, 17, 0, 1, tzinfo=B),
    dt.datetime(2026, 10, 1, 0, 0, 5, tzinfo=B),
]


@dataclass
class Generated:
    org: SampleOrg
    laos: list[Agency]
    registries: list[Registry]
    clerks: dict[int, Person] = field(default_factory=dict)  # registry id -> clerk
    made: Counter[str] = field(default_factory=Counter)


def _lao(org: SampleOrg, n: int) -> tuple[Agency, Registry, Person]:
    lao = agency_create(kind=AgencyKind.SAO, name_th=f"อบต.ทดสอบ {n}",
                        parent=org.province, is_tenant=True, letter_code="ชม",
                        office_code=f"7{n:04d}")
    agency_enrol(agency=lao, code=f"sao-{n}")
    lao.refresh_from_db()
    registry = registry_open(unit=lao, is_central=True)
    clerk = make_person(f"sao{n}-clerk", f"เสมียน อบต.{n}", agency=lao, password=None)
    RoleGrant.objects.create(person=clerk, unit=lao, role=Role.REGISTRY_CLERK)
    return lao, registry, clerk


def build(org: SampleOrg, pki: TestPKI, stranger: TestPKI, *, seed: int = 2569,
          per_registry: int = 14) -> Generated:
    """Register letters at the edges and at random moments from August 2025 to October 2026."""
    rnd = random.Random(seed)
    province_clerk = make_person("province-clerk", "เสมียน จังหวัด", agency=org.province,
                                 password=None)
    RoleGrant.objects.create(person=province_clerk, unit=org.province, role=Role.REGISTRY_CLERK)
    laos = [_lao(org, n) for n in (1, 2, 3)]
    ecms_account_set(agency=org.ministry, department="1500100000",
                     node_url="http://127.0.0.1:9/ecms-ws01/service2")
    ecms_account_set(agency=org.province, department="1501700000",
                     node_url="http://127.0.0.1:9/ecms-ws01/service2")
    seals = {t.pk: (sign_pdf(tiny_pdf(f"ลงนาม {t.pk}"), make_seal(t, pki)),
                    sign_pdf(tiny_pdf(f"ไม่รู้จัก {t.pk}"), make_seal(t, stranger, trust=False)))
             for t in (org.ministry, org.province, *(lao for lao, _r, _c in laos))}
    gen = Generated(org=org, laos=[lao for lao, _r, _c in laos],
                    registries=[org.central, org.ict_registry, org.province_registry,
                                *(r for _l, r, _c in laos)])
    gen.clerks = {org.central.pk: org.clerk, org.ict_registry.pk: org.clerk,
                  org.province_registry.pk: province_clerk,
                  **{r.pk: c for _l, r, c in laos}}
    start = dt.datetime(2025, 8, 1, tzinfo=B)
    moments = sorted(EDGES + [start + dt.timedelta(seconds=rnd.randrange(440 * 86400))
                              for _ in range(per_registry * len(gen.registries))])
    incoming: list[RegisterEntry] = []
    for n, moment in enumerate(moments):
        registry = gen.registries[n % len(gen.registries)]
        with time_machine.travel(moment, tick=False):
            for _ in range(2 if moment in EDGES else 1):  # two letters at each edge
                if rnd.random() < 0.55:
                    _outgoing(gen, registry, rnd, seals)
                else:
                    incoming.append(_incoming(gen, registry, rnd))
            _maybe_cancel(gen, rnd)
            _maybe_hand_over(gen, incoming, rnd)
    return gen


def _recipients(gen: Generated, registry: Registry, rnd: random.Random) -> list[Recipient]:
    org = gen.org
    tenant = registry.tenant
    other = org.province if tenant.pk != org.province.pk else org.ministry
    options: list[Recipient] = [
        Recipient(channel="post", text="ห้างหุ้นส่วนจำกัด ทดสอบ"),
        Recipient(channel="hand", text="นายสมศักดิ์ ประชาชน"),
        Recipient(channel="fax", text="สำนักงานที่ดินจังหวัด", address="0 5311 2345"),
        Recipient(channel="email", text="อบต.ที่ไม่มีระบบ", address="saraban@tambon.go.th"),
        Recipient(channel="saraban", agency=other),
    ]
    if tenant.pk == org.ministry.pk:
        options.append(Recipient(channel="ecms", agency=org.province))
    return rnd.sample(options, rnd.randint(0, 3))


def _outgoing(gen: Generated, registry: Registry, rnd: random.Random,
              seals: dict[int, tuple[bytes, bytes]]) -> None:
    secrecy = 1 if registry.is_central and rnd.random() < 0.15 else 0
    recipients = _recipients(gen, registry, rnd)
    signed, unknown = seals[registry.tenant_id]
    main = rnd.choice([signed, signed, unknown, tiny_pdf("ไม่ได้ลงนาม"), None])
    if main is None and any(r.channel in ("saraban", "ecms") for r in recipients):
        main = tiny_pdf("ไม่ได้ลงนาม")  # the exchange carries a main file
    letter_register_outgoing(
        actor=resolve_actor(gen.clerks[registry.pk]), registry=registry,
        details=LetterDetails(kind="external", subject=f"หนังสือส่ง {gen.made['out']}",
                              secrecy=secrecy, recipient_text="ผู้รับตามบัญชีแนบ"),
        recipients=recipients,
        main_file=Upload("หนังสือ.pdf", main) if main is not None else None,
    )
    gen.made["out"] += 1


def _incoming(gen: Generated, registry: Registry, rnd: random.Random) -> RegisterEntry:
    via = rnd.choice(["", "", "email", "saraban", "ecms"])
    entry = letter_register_incoming(
        actor=resolve_actor(gen.clerks[registry.pk]), registry=registry,
        details=LetterDetails(kind="external", subject=f"หนังสือรับ {gen.made['in']}",
                              sender_text="กรมส่งเสริมการปกครองท้องถิ่น", number="มท 0810/1",
                              secrecy=1 if registry.is_central and rnd.random() < 0.1 else 0,
                              received_via=via),
    )
    gen.made["in"] += 1
    return entry


def _maybe_cancel(gen: Generated, rnd: random.Random) -> None:
    if rnd.random() < 0.2:
        live = list(RegisterEntry.objects.filter(cancelled_at__isnull=True)
                    .select_related("series__registry").order_by("pk"))
        entry = rnd.choice(live)
        entry_cancel(actor=resolve_actor(gen.clerks[entry.series.registry_id]), entry=entry,
                     reason="ออกเลขซ้ำซ้อน")
        gen.made["cancelled"] += 1


def _maybe_hand_over(gen: Generated, incoming: list[RegisterEntry], rnd: random.Random) -> None:
    org = gen.org
    central = [e for e in incoming if e.series.registry_id == org.central.pk
               and not Handover.objects.filter(letter_id=e.letter_id).exists()]
    if central and rnd.random() < 0.5:
        entry = central[-1]
        entry.refresh_from_db()
        if entry.cancelled_at is not None:
            return
        actor = resolve_actor(org.clerk)
        handover = letter_hand_over(actor=actor, letter=entry.letter,
                                    to_registry=org.ict_registry)
        handover_register(actor=actor, handover=handover)
        gen.made["handed_over"] += 1


# ---- the oracle ----------------------------------------------------------------------------


def _lines(scope: Agency, period: Period, hosted: bool) -> list[RegisterEntry]:
    tenant = scope.tenant_id or scope.pk
    out = []
    for e in RegisterEntry.objects.select_related("series__registry__unit", "letter"):
        registry = e.series.registry
        day = e.registered_at.astimezone(B).date()
        if ((hosted or registry.tenant_id == tenant)
                and registry.unit.path.startswith(scope.path) and e.cancelled_at is None
                and period.start <= day <= period.end):
            out.append(e)
    return out


def _month(e: RegisterEntry) -> str:
    return e.registered_at.astimezone(B).date().replace(day=1).isoformat()


def _keyed(e: RegisterEntry, by: str) -> str:
    if by == "unit":
        return str(e.series.registry.unit_id)
    if by == "month":
        return _month(e)
    if by == "agency":
        return str(e.series.registry.tenant_id)
    return "total"


def count_sent(scope: Agency, period: Period, by: str = "channel", hosted: bool = False
               ) -> dict[str, Counter[str]]:
    dispatches: dict[int, list[str]] = defaultdict(list)
    for d in Dispatch.objects.all():
        dispatches[d.letter_id].append(d.channel)
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for e in _lines(scope, period, hosted):
        if e.letter.direction != "outgoing":
            continue
        for channel in dispatches.get(e.letter_id) or ["unrecorded"]:
            out[_keyed(e, by)][channel] += 1
    return out


def count_received(scope: Agency, period: Period, by: str = "channel", hosted: bool = False
                   ) -> dict[str, Counter[str]]:
    handed = set(Handover.objects.exclude(entry=None).values_list("entry_id", flat=True))
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for e in _lines(scope, period, hosted):
        if (e.letter.direction == "incoming" and e.series.kind.endswith("incoming")
                and e.pk not in handed):
            out[_keyed(e, by)][e.letter.received_via or "paper"] += 1
    return out


def count_signed(scope: Agency, period: Period, by: str = "channel", hosted: bool = False
                 ) -> dict[str, Counter[str]]:
    valid = {(c.blob_id, c.tenant_id) for c in SignatureCheck.objects.all()
             if c.status == "valid"}
    mains: dict[int, list[str]] = defaultdict(list)
    for f in LetterFile.objects.filter(role="main"):
        mains[f.letter_id].append(f.blob_id)
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for e in _lines(scope, period, hosted):
        if e.letter.direction != "outgoing":
            continue
        tenant = e.series.registry.tenant_id
        ok = any((blob, tenant) in valid for blob in mains.get(e.letter_id, []))
        out[_keyed(e, by)]["signed" if ok else "unsigned"] += 1
    return out


def as_counts(rows: list[Any]) -> dict[str, Counter[str]]:
    """The indicators' rows in the oracle's shape (channels with zero dropped)."""
    return {r.key: Counter({c: n for c, n in r.by_channel.items() if n})
            for r in rows if r.total}


def change_after_counting(gen: Generated, *, seed: int = 7) -> set[int]:
    """Changes that reach back into days already counted ahead: numbers cancelled, letters
    registered on a day long past (as when the clock of a restored server ran behind), and a
    signature check whose verdict changed. Returns the letters they touched."""
    rnd = random.Random(seed)
    touched: set[int] = set()
    live = list(RegisterEntry.objects.filter(cancelled_at__isnull=True)
                .select_related("series__registry").order_by("pk"))
    for entry in rnd.sample(live, 3):
        entry_cancel(actor=resolve_actor(gen.clerks[entry.series.registry_id]), entry=entry,
                     reason="ยกเลิกภายหลัง")
        touched.add(entry.letter_id)
    with time_machine.travel(dt.datetime(2026, 9, 30, 10, 15, tzinfo=B), tick=False):
        seals = {t: (tiny_pdf("ลงนามภายหลัง"), tiny_pdf("ภายหลัง"))
                 for t in {r.tenant_id for r in gen.registries}}
        for registry in (gen.registries[0], gen.registries[-1]):
            before = set(RegisterEntry.objects.values_list("letter_id", flat=True))
            _outgoing(gen, registry, rnd, seals)
            touched |= set(RegisterEntry.objects.values_list("letter_id", flat=True)) - before
            touched.add(_incoming(gen, registry, rnd).letter_id)
    check = SignatureCheck.objects.filter(status="valid").order_by("pk").first()
    assert check is not None
    check.status = "invalid"
    check.save()
    touched |= set(LetterFile.objects.filter(blob_id=check.blob_id).values_list("letter_id",
                                                                                flat=True))
    return touched
