"""Give every audit chain its HMAC key, sealed under the node's key-encryption key.

Events already in a chain keep their plain SHA-256 hashes; the key applies from the next
event on (``keyed_from_seq``), and that boundary is bound into the seal so it cannot be moved.
"""

import secrets

from django.db import migrations, models


def key_existing_chains(apps, schema_editor):
    from saraban.core.audit import chain_key_purpose
    from saraban.core.keys import seal

    AuditChain = apps.get_model("core", "AuditChain")
    for chain in AuditChain.objects.filter(key_sealed=""):
        chain.keyed_from_seq = chain.last_seq + 1
        chain.key_sealed = seal(
            secrets.token_bytes(32),
            purpose=chain_key_purpose(chain.agency_id, chain.keyed_from_seq),
        )
        chain.save(update_fields=["key_sealed", "keyed_from_seq"])


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditchain",
            name="key_sealed",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="auditchain",
            name="keyed_from_seq",
            field=models.PositiveBigIntegerField(default=1),
        ),
        migrations.RunPython(key_existing_chains, migrations.RunPython.noop),
    ]
