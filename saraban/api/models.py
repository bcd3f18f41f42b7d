"""API tokens of the people (failed logins are counted by ``saraban.agencies.throttle``).

A token is shown to its owner once; only its SHA-256 is stored, so a copy of the database
does not give anyone a working token.
"""

from __future__ import annotations

from django.db import models

from saraban.agencies.models import Person


class ApiToken(models.Model):
    """A bearer token of one person: stored as a hash, optionally expiring."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.person} · {self.token_hash[:8]}…"

