"""Records the web interface keeps for itself: failed sign-ins, for login throttling."""

from __future__ import annotations

from django.db import models


class LoginFailure(models.Model):
    """One failed sign-in: which username was tried, from which address, and when.

    Written and read only through ``saraban.web.throttle``.
    """

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "การเข้าสู่ระบบที่ไม่สำเร็จ"
        verbose_name_plural = "การเข้าสู่ระบบที่ไม่สำเร็จ"

    def __str__(self) -> str:
        return f"{self.username} {self.ip} {self.at:%Y-%m-%d %H:%M:%S}"
