"""Domain errors, each with a stable code that the API returns and the UI translates.

The hierarchy::

    SarabanError                 (code "error")
    ├── ValidationFailed         bad input; nothing changed        (400)
    │   └── FileRejected         a file refused by type or size    (400/413)
    ├── PermissionDenied         the person may not do this        (403)
    ├── NotFound                 no such thing, or not visible     (404)
    └── Conflict                 the state does not allow it       (409)

``NotFound`` is also what a person gets for a letter they may not see: the answer must not
reveal that it exists.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SarabanError(Exception):
    """Base of every domain error: a stable ``code``, a Thai ``message`` and details."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        if self.details:
            data["details"] = self.details
        return data


class ValidationFailed(SarabanError):
    status = 400
    default_code = "invalid"


class FileRejected(ValidationFailed):
    default_code = "file_rejected"


class PermissionDenied(SarabanError):
    status = 403
    default_code = "forbidden"


class NotFound(SarabanError):
    status = 404
    default_code = "not_found"


class Conflict(SarabanError):
    status = 409
    default_code = "conflict"
