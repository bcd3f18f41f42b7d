"""The one exception of the wire library: a message refused, with a stable code."""

from __future__ import annotations

from ._model import ErrorDetail

#: Every code :class:`EcmsRefused` carries (stable: the node answers them as ``ErrorCode``).
CODES = frozenset(
    {
        "xml_malformed",
        "xml_dtd_refused",
        "xml_too_large",
        "xml_too_deep",
        "not_soap",
        "unknown_operation",
        "missing_element",
        "bad_base64",
        "file_too_large",
        "too_many_files",
        "bad_value",
    }
)


class EcmsRefused(Exception):
    """A message the library will not read (or a value it will not write).

    ``code`` is stable (one of :data:`CODES`); ``message`` says what was wrong, for people.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def error_detail(self) -> ErrorDetail:
        """The refusal as the ``ErrorDetail`` a node answers (``error_response``)."""
        return ErrorDetail(self.code, self.message)
