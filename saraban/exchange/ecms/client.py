"""One request to an agency's own e-CMS node: POST the SOAP envelope, parse the answer.

The node answers HTTP 200 with either the response element or ``ErrorDetail`` (ecms.md
§5.16). Network trouble, 5xx and an unreadable answer are transient (``EcmsUnavailable``);
an ``ErrorDetail`` is the node's refusal (``EcmsNodeError`` with its codes).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Sequence

from django.conf import settings

from saraban.ecms import EcmsRefused, ErrorDetail, Limits, Message, parse_message

CONTENT_TYPE = "text/xml; charset=utf-8"


def setting(name: str, default: float) -> float:
    """A ``SARABAN_ECMS_*`` setting: Django's, else the environment (``NAME`` or ``NAME``
    without ``_SECONDS``, as ``settings.py`` names its variables), else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        for env in (name, name.removesuffix("_SECONDS")):
            text = os.environ.get(env, "").strip()
            if text:
                try:
                    return float(text)
                except ValueError:
                    break
        return default
    return float(value)


_setting = setting


def limits() -> Limits:
    """The parser's limits from ``SARABAN_ECMS_MAX_*`` (the library's defaults otherwise)."""
    base = Limits()
    return Limits(
        max_bytes=int(_setting("SARABAN_ECMS_MAX_BYTES", base.max_bytes)),
        max_depth=int(_setting("SARABAN_ECMS_MAX_DEPTH", base.max_depth)),
        max_file_bytes=int(_setting("SARABAN_ECMS_MAX_FILE_BYTES", base.max_file_bytes)),
        max_files=int(_setting("SARABAN_ECMS_MAX_FILES", base.max_files)),
        max_elements=int(_setting("SARABAN_ECMS_MAX_ELEMENTS", base.max_elements)),
    )


class EcmsUnavailable(Exception):
    """The node could not be reached or gave no usable answer: try again later."""

    def __init__(self, message: str, *, code: str = "ecms_unreachable") -> None:
        super().__init__(message)
        self.code = code


class EcmsNodeError(Exception):
    """The node answered with ``ErrorDetail``."""

    def __init__(self, errors: Sequence[ErrorDetail]) -> None:
        self.errors = tuple(errors)
        self.code = errors[0].code if errors else "ecms_error"
        text = "; ".join(f"{e.code}: {e.description}" for e in errors)
        super().__init__(text or "ErrorDetail")


class EcmsBadAnswer(Exception):
    """The node's answer was refused by the parser (hostile or broken XML).

    ``process_id`` is what a bounded look at the raw bytes found (so that a hostile item on
    the queue can still be deleted), ``code`` the parser's refusal code.
    """

    def __init__(self, code: str, message: str, *, process_id: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.process_id = process_id


_PROCESS_ID = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?[Pp]rocessID>\s*([^<]{1,128}?)\s*</")


def process_id_in(raw: bytes) -> str:
    """The first ``ProcessID`` in the first 64 KiB of an answer the parser refused (a plain
    text search, no XML processing)."""
    found = _PROCESS_ID.search(raw[: 64 * 1024])
    if found is None:
        return ""
    try:
        return found.group(1).decode("utf-8").strip()
    except UnicodeDecodeError:
        return ""


def post_raw(url: str, body: bytes) -> bytes:
    """POST ``body`` to the node; the answer's bytes (at most the size limit plus one)."""
    request = urllib.request.Request(  # noqa: S310 (the URL is the agency's configured node)
        url, data=body, method="POST",
        headers={"Content-Type": CONTENT_TYPE, "User-Agent": "Saraban/1"},
    )
    timeout = _setting("SARABAN_ECMS_TIMEOUT_SECONDS", 30)
    cap = limits().max_bytes
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw: bytes = response.read(cap + 1)
    except urllib.error.HTTPError as exc:
        with contextlib.suppress(http.client.HTTPException, OSError):
            exc.read(1024)
        exc.close()
        raise EcmsUnavailable(f"HTTP {exc.code} from the e-CMS node",
                              code="ecms_http_error") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise EcmsUnavailable(f"e-CMS node unreachable: {exc}") from exc
    except http.client.HTTPException as exc:
        raise EcmsUnavailable(f"answer cut off: {exc!r}") from exc
    return raw


def call(url: str, body: bytes, *, trust: Sequence[str] = ()) -> Message:
    """POST ``body`` and parse the answer; ``ErrorDetail`` raises ``EcmsNodeError``."""
    raw = post_raw(url, body)
    try:
        message = parse_message(raw, trust=tuple(trust), limits=limits())
    except EcmsRefused as exc:
        raise EcmsBadAnswer(exc.code, exc.message, process_id=process_id_in(raw)) from exc
    if message.errors:
        raise EcmsNodeError(message.errors)
    return message
