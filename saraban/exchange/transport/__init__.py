"""Transports carry a signed message to the recipient's node and bring back its receipt.

``local`` hands the message to this node's own receiving code (both agencies hosted here);
``saraban`` POSTs it to another Saraban node; ``ecms`` POSTs a SOAP request to the sending
agency's own e-CMS node (``saraban.exchange.ecms.send`` builds it); ``smtp`` hands a mail to the
sending agency's SMTP relay (``saraban.exchange.mail.send`` builds it).
"""

from ._base import DeliveryFailed, Transport, TransportAnswer
from ._ecms import EcmsTransport
from ._local import LocalTransport
from ._saraban import SarabanTransport
from ._smtp import SmtpAnswer, SmtpRelay, SmtpTransport

__all__ = ["DeliveryFailed", "EcmsTransport", "LocalTransport", "SarabanTransport",
           "SmtpAnswer", "SmtpRelay", "SmtpTransport", "Transport", "TransportAnswer",
           "transport_for"]


def transport_for(node_url: str) -> Transport:
    """The transport that reaches a directory entry's node (empty URL: this node)."""
    return SarabanTransport(node_url) if node_url else LocalTransport()
