from __future__ import annotations

from saraban.ecms import Message

from ._base import DeliveryFailed


class EcmsTransport:
    """POST one SOAP request to the SENDING agency's own e-CMS node (ecms.md §1); the node
    relays it. Node trouble is a retried ``DeliveryFailed``; an ``ErrorDetail`` whose code
    says the same request would be refused again is a permanent one."""

    name = "ecms"

    def __init__(self, node_url: str) -> None:
        self.url = node_url

    def post(self, body: bytes) -> Message:
        from ..ecms.client import EcmsBadAnswer, EcmsNodeError, EcmsUnavailable, call
        from ..ecms.send import PERMANENT_NODE_CODES

        try:
            answer = call(self.url, body)
        except EcmsUnavailable as exc:
            raise DeliveryFailed(str(exc), code=exc.code) from exc
        except EcmsBadAnswer as exc:
            raise DeliveryFailed(str(exc), code="ecms_bad_answer") from exc
        except EcmsNodeError as exc:
            raise DeliveryFailed(str(exc)[:400], code=exc.code,
                                 permanent=exc.code in PERMANENT_NODE_CODES) from exc
        if not answer.process_id:
            raise DeliveryFailed(f"no ProcessID in the node's {answer.operation}",
                                 code="ecms_bad_answer")
        return answer
