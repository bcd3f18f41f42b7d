"""``saraban signatures …``: signing identities and trust roots for operators.

    saraban signatures add-pkcs12 --agency CODE [--user USERNAME] --file x.p12 [--store-secret]
    saraban signatures add-pkcs11 --agency CODE [--user USERNAME] --module SO --token LABEL
                                  --key LABEL [--store-secret]
    saraban signatures add-root --file root.pem [--agency CODE] [--label TEXT]
    saraban signatures list [--agency CODE]
    saraban signatures verify FILE [--agency CODE]
    saraban signatures expiry-check                 warn admins of certificates that lapse soon

``CODE`` is the agency's exchange code (or its id). Without ``--user`` the identity is the
agency seal. The passphrase or PIN is read from ``$SARABAN_SIGNING_SECRET`` when set, else
asked for (never taken on the command line, where other users could see it).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.agencies.models import Agency, Person
from saraban.core.errors import SarabanError

from ...expiry import expiry_check
from ...models import SigningIdentity, TrustRoot
from ...pades import verify_pdf
from ...services import identity_add_pkcs11, identity_add_pkcs12, trust_root_add

SECRET_ENV = "SARABAN_SIGNING_SECRET"  # noqa: S105  (the variable's name, not a secret)


class Command(BaseCommand):
    help = ("Signing identities and trust roots: add-pkcs12, add-pkcs11, add-root, list, verify, "
            "expiry-check.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        p12 = sub.add_parser("add-pkcs12", help="add a PKCS#12 identity (a person's or a seal)")
        p12.add_argument("--agency", required=True, help="exchange code or id of the agency")
        p12.add_argument("--user", help="username of the signer (omit for the agency seal)")
        p12.add_argument("--file", required=True, help="the .p12/.pfx file")
        p12.add_argument("--label", default="")
        p12.add_argument("--store-secret", action="store_true",
                         help="keep the passphrase (encrypted) so the system can sign")
        p11 = sub.add_parser("add-pkcs11", help="add an identity whose key is on a token/HSM")
        p11.add_argument("--agency", required=True)
        p11.add_argument("--user")
        p11.add_argument("--module", required=True, help="path of the PKCS#11 module (.so)")
        p11.add_argument("--token", required=True, help="token label")
        p11.add_argument("--key", required=True, help="key label")
        p11.add_argument("--cert", default="", help="certificate label (default: key label)")
        p11.add_argument("--label", default="")
        p11.add_argument("--store-secret", action="store_true")
        root = sub.add_parser("add-root", help="trust a root CA certificate")
        root.add_argument("--file", required=True, help="PEM or DER certificate")
        root.add_argument("--agency", help="only for this agency (default: the whole node)")
        root.add_argument("--label", default="")
        listing = sub.add_parser("list", help="identities and trust roots")
        listing.add_argument("--agency")
        verify = sub.add_parser("verify", help="verify a PDF's signatures")
        verify.add_argument("file")
        verify.add_argument("--agency", help="whose trust roots to use")
        sub.add_parser("expiry-check",
                       help="warn agency admins of certificates 60, 30 and 7 days before expiry")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["verb"].replace("-", "_"))(options)
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    # --- helpers ---------------------------------------------------------------------------

    def _agency(self, code: str | None) -> Agency | None:
        if not code:
            return None
        agency = Agency.objects.filter(exchange_code=code).first()
        if agency is None and code.isdigit():
            agency = Agency.objects.filter(pk=int(code)).first()
        if agency is None:
            raise CommandError(f"no agency with exchange code or id {code!r}")
        return agency

    def _person(self, username: str | None) -> Person | None:
        if not username:
            return None
        person = Person.objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"no user {username!r}")
        return person

    def _secret(self, prompt: str) -> str:
        secret = os.environ.get(SECRET_ENV)
        if secret:
            return secret
        if sys.stdin.isatty():
            return getpass.getpass(prompt)
        return sys.stdin.readline().rstrip("\n")

    def _read(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc

    def _done(self, identity: SigningIdentity) -> None:
        whose = identity.person.username if identity.person else "agency seal"
        self.stdout.write(
            f"added identity {identity.pk} ({whose}): {identity.subject_name}, issued by "
            f"{identity.issuer_name}, valid until {identity.not_after:%Y-%m-%d}, "
            f"sha256 {identity.fingerprint}"
        )

    # --- verbs ---------------------------------------------------------------------------

    def _add_pkcs12(self, options: dict[str, Any]) -> None:
        tenant = self._agency(options["agency"])
        assert tenant is not None
        person = self._person(options["user"])
        data = self._read(options["file"])
        identity = identity_add_pkcs12(
            actor=None, tenant=tenant, person=person, p12=data,
            passphrase=self._secret("PKCS#12 passphrase: "),
            store_secret=options["store_secret"], label=options["label"],
        )
        self._done(identity)

    def _add_pkcs11(self, options: dict[str, Any]) -> None:
        tenant = self._agency(options["agency"])
        assert tenant is not None
        identity = identity_add_pkcs11(
            actor=None, tenant=tenant, person=self._person(options["user"]),
            module=options["module"], token_label=options["token"], key_label=options["key"],
            cert_label=options["cert"], pin=self._secret("Token PIN: "),
            store_secret=options["store_secret"], label=options["label"],
        )
        self._done(identity)

    def _add_root(self, options: dict[str, Any]) -> None:
        root = trust_root_add(actor=None, tenant=self._agency(options["agency"]),
                             pem=self._read(options["file"]), label=options["label"])
        scope = root.tenant.name_th if root.tenant else "the whole node"
        self.stdout.write(f"trusted {root.label} for {scope} (sha256 {root.fingerprint})")

    def _list(self, options: dict[str, Any]) -> None:
        tenant = self._agency(options["agency"])
        identities = SigningIdentity.objects.select_related("tenant", "person")
        roots = TrustRoot.objects.select_related("tenant")
        if tenant is not None:
            identities = identities.filter(tenant=tenant)
            roots = roots.filter(tenant=tenant)
        for i in identities:
            whose = i.person.username if i.person else "(seal)"
            state = "active" if i.active else "inactive"
            self.stdout.write(f"identity {i.pk}\t{i.tenant.exchange_code or i.tenant_id}\t"
                              f"{whose}\t{i.kind}\t{i.subject_name}\t{i.not_after:%Y-%m-%d}\t"
                              f"{state}")
        for r in roots:
            scope = r.tenant.exchange_code if r.tenant else "(node)"
            self.stdout.write(f"root {r.pk}\t{scope}\t{r.label}\t{r.fingerprint}")

    def _verify(self, options: dict[str, Any]) -> None:
        verdict = verify_pdf(self._read(options["file"]), tenant=self._agency(options["agency"]))
        self.stdout.write(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
        if verdict.is_red:
            raise CommandError(f"{verdict.status}: {verdict.label_th}")

    def _expiry_check(self, options: dict[str, Any]) -> None:
        self.stdout.write(f"sent {expiry_check()} certificate expiry warnings")
