from typing import Any

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "saraban.core"
    label = "core"
    verbose_name = "แกนระบบ"

    def ready(self) -> None:
        from . import keys
        from .audit import chain_key_purpose

        def purpose(row: Any) -> str:
            return chain_key_purpose(row.agency_id, row.keyed_from_seq)

        keys.register_sealed(keys.SealedField(
            model="core.AuditChain", field="key_sealed", agency_field="agency_id",
            purpose=purpose,
            open_stored=lambda row, value: keys.unseal(value, purpose=purpose(row)),
        ))
