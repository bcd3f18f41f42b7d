from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from saraban.core import keys


class ExchangeConfig(AppConfig):
    name = "saraban.exchange"
    label = "exchange"
    verbose_name = "รับส่งหนังสือระหว่างหน่วยงาน"

    def ready(self) -> None:
        from saraban.core import keys
        from saraban.signatures.expiry import register_source

        from . import crypto, keystore
        from .directory import exchange_certificates
        from .models import MAIL_IMAP_PURPOSE, MAIL_SMIME_PURPOSE, MAIL_SMTP_PURPOSE

        keys.register_sealed(keys.SealedField(
            model="exchange.AgencyCredential", field="private_key_pem", agency_field="agency_id",
            purpose=lambda row: crypto.KEY_PURPOSE,
            open_stored=lambda row, value: crypto.stored_key_pem(
                value if isinstance(value, str) else value.decode()),
        ))
        keys.register_sealed(keys.SealedField(
            model="exchange.AgencyCredential", field="pkcs11_pin_sealed",
            agency_field="agency_id", purpose=lambda row: keystore.PIN_PURPOSE,
            open_stored=lambda row, value: keys.unseal(value, purpose=keystore.PIN_PURPOSE),
        ))
        # The central mailbox's IMAP and SMTP passwords and S/MIME key, bound to the agency.
        for field, kind in (("imap_password_sealed", MAIL_IMAP_PURPOSE),
                            ("smtp_password_sealed", MAIL_SMTP_PURPOSE),
                            ("smime_key_sealed", MAIL_SMIME_PURPOSE)):
            keys.register_sealed(_mailbox_secret(field, kind))
        register_source("exchange", exchange_certificates)


def _mailbox_secret(field: str, kind: str) -> keys.SealedField:
    from saraban.core import keys as sealed

    from .models import mail_purpose

    def purpose(row: object) -> str:
        return mail_purpose(kind, int(getattr(row, "agency_id")))  # noqa: B009

    def open_stored(row: object, value: str | bytes) -> bytes:
        return sealed.unseal(value, purpose=purpose(row))

    return sealed.SealedField(model="exchange.Mailbox", field=field, agency_field="agency_id",
                            purpose=purpose, open_stored=open_stored)
