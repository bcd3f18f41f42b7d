"""The government's e-CMS (TH e-GIF GovernmentDocument over SOAP 1.1): the wire format.

Django-free: parsing (tolerant of the client dialects in ``docs/ecms.md``, refusing hostile
XML), building requests and responses, XML-DSig on the letter. The exchange area uses it to
talk to an agency's e-CMS node; ``saraban.ecms.node`` is a local e-CMS node built on it.
"""

from ._model import (
    Binary,
    Code,
    Dialect,
    DocumentKey,
    ErrorDetail,
    Header,
    Letter,
    Message,
    Notifier,
    NotifierKind,
    Operation,
    Organization,
    OutboundStatus,
    Party,
    Reference,
    SignatureVerdict,
    Signer,
)

__all__ = [
    "Binary",
    "Code",
    "Dialect",
    "DocumentKey",
    "ErrorDetail",
    "Header",
    "Letter",
    "Message",
    "Notifier",
    "NotifierKind",
    "Operation",
    "Organization",
    "OutboundStatus",
    "Party",
    "Reference",
    "SignatureVerdict",
    "Signer",
]
