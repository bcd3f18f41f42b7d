"""Saraban's side of the government's e-CMS (``docs/ecms.md``, ``saraban.ecms`` on the wire).

An agency hosted here that has an ``EcmsAccount`` posts letters and notifiers to its own
e-CMS node and polls that node's queue; the node relays to the other agencies' nodes.

- ``client``: one SOAP request to the agency's node over HTTP, the answer parsed;
- ``send``: the outbox rows (letters, notifiers, commands) delivered through e-CMS;
- ``poll``: the worker's poll of every account's queue (store, then delete);
- ``accounts``: accounts, directory entries, organisation import, status and look-ups.
"""
