"""Which agencies can be reached electronically: the readiness the programme counts.

An agency on this node is reachable by the Saraban exchange when it is enrolled (an entry of
the directory with a certificate, so other nodes can address and verify it), by e-CMS when it
has an e-CMS account (its own e-CMS node), and by e-mail when its central mailbox is enabled.
It is *connected* when any of the three holds. Agencies hosted on other nodes are not counted
here (their own node reports them).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from saraban.agencies.models import Agency, AgencyKind
from saraban.exchange.models import DirectoryEntry, EcmsAccount, Mailbox

from .indicators import Scope

__all__ = ["Connection", "connections"]


@dataclass(frozen=True, slots=True)
class Connection:
    agency_id: int
    name: str
    code: str | None
    kind: str
    saraban: bool
    ecms: bool
    email: bool

    @property
    def connected(self) -> bool:
        return self.saraban or self.ecms or self.email

    @property
    def kind_label(self) -> str:
        return str(AgencyKind(self.kind).label) if self.kind in AgencyKind.values else self.kind


def connections(scope: Scope) -> list[Connection]:
    """The agencies of the scope (with ``hosted``, every agency below it), in tree order; one
    query."""
    where = Q(path__startswith=scope.agency.path, is_tenant=True) if scope.hosted else \
        Q(pk=scope.tenant_id)
    rows = (
        Agency.objects.filter(where, is_active=True)
        .annotate(
            by_saraban=Exists(DirectoryEntry.objects.filter(agency_id=OuterRef("pk"))
                              .exclude(certificate_pem="")),
            by_ecms=Exists(EcmsAccount.objects.filter(agency_id=OuterRef("pk"))),
            by_email=Exists(Mailbox.objects.filter(agency_id=OuterRef("pk"), enabled=True)),
        )
        .order_by("path")
        .values_list("pk", "name_th", "exchange_code", "kind", "by_saraban", "by_ecms",
                     "by_email")
    )
    return [Connection(agency_id=pk, name=name, code=code, kind=kind, saraban=saraban,
                       ecms=ecms, email=email)
            for pk, name, code, kind, saraban, ecms, email in rows]
