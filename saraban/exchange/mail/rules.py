"""Which senders a mailbox accepts: one pattern a line in ``Mailbox.accept_senders``.

- ``*``: anyone;
- ``*.go.th``: any address at a domain *under* go.th (``saraban@moi.go.th``, not ``@go.th``);
- ``@mail.go.th`` (or ``mail.go.th``): exactly that domain;
- ``someone@x.com``: exactly that address (the local part compared without case, as every
  real mail system does);
- ``!pattern``: never this one, even when another line accepts it (a refusal wins);
- empty lines and ``# comments`` are ignored. An empty list accepts no one.

Domains are compared lowercased and IDNA-decoded (``xn--…`` and Thai spellings match).

>>> accepts("*.go.th", "saraban@moi.go.th"), accepts("*.go.th", "x@go.th.evil.com")
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from saraban.core.errors import ValidationFailed

__all__ = ["Rule", "accepts", "check_rules", "parse_rules"]


def _domain(text: str) -> str:
    text = text.strip().strip(".").lower()
    if "xn--" in text:
        try:
            return text.encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            return text
    return text


def _split(address: str) -> tuple[str, str]:
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return "", _domain(address)
    return local.lower(), _domain(domain)


@dataclass(frozen=True)
class Rule:
    kind: str  # "any" | "under" | "domain" | "address"
    value: str
    deny: bool = False

    def matches(self, address: str) -> bool:
        local, domain = _split(address)
        if not domain:
            return False
        if self.kind == "any":
            return True
        if self.kind == "under":
            return domain.endswith("." + self.value)
        if self.kind == "domain":
            return domain == self.value
        want_local, want_domain = _split(self.value)
        return local == want_local and domain == want_domain


def _rule(line: str) -> Rule:
    deny = line.startswith("!")
    text = line[1:].strip() if deny else line
    if text == "*":
        return Rule("any", "*", deny)
    if text.startswith("*."):
        rest = _domain(text[2:])
        if rest and "*" not in rest and "@" not in rest:
            return Rule("under", rest, deny)
    elif text.startswith("@"):
        rest = _domain(text[1:])
        if rest and "*" not in rest and "@" not in rest:
            return Rule("domain", rest, deny)
    elif "@" in text and "*" not in text:
        local, domain = _split(text)
        if local and domain:
            return Rule("address", f"{local}@{domain}", deny)
    elif "*" not in text and "." in text and " " not in text:
        return Rule("domain", _domain(text), deny)
    raise ValidationFailed(
        f"รูปแบบผู้ส่งไม่ถูกต้อง: {line!r} (ใช้ *, *.go.th, @mail.go.th หรือ someone@x.com)",
        code="bad_sender_pattern", field="accept_senders",
    )


def parse_rules(text: str) -> list[Rule]:
    """The rules of an ``accept_senders`` text; ``ValidationFailed`` naming a bad line."""
    rules = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            rules.append(_rule(line))
    return rules


def check_rules(text: str) -> str:
    """The text tidied (lines stripped, empty ones dropped, comments kept), or
    ``ValidationFailed`` naming the first bad line."""
    parse_rules(text)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def accepts(text: str, address: str) -> bool:
    """Whether a mailbox with these patterns accepts mail from ``address``."""
    try:
        rules = parse_rules(text)
    except ValidationFailed:
        return False
    if any(r.deny and r.matches(address) for r in rules):
        return False
    return any(not r.deny and r.matches(address) for r in rules)
