from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "saraban.exchange"
    label = "exchange"
    verbose_name = "รับส่งหนังสือระหว่างหน่วยงาน"

    def ready(self) -> None:
        from saraban.core import keys

        from . import crypto

        keys.register_sealed(keys.SealedField(
            model="exchange.AgencyCredential", field="private_key_pem", agency_field="agency_id",
            purpose=lambda row: crypto.KEY_PURPOSE,
            open_stored=lambda row, value: crypto.stored_key_pem(
                value if isinstance(value, str) else value.decode()),
        ))
