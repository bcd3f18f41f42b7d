"""The agency's central e-mail address (saraban@…): mail in (IMAP or the mail server's pipe)
and out (SMTP), on top of the Django-free wire library ``saraban.mail``.

- ``mailboxes``: adding and changing a mailbox (secrets sealed), audited;
- ``rules``: which senders a mailbox accepts;
- ``intake``: one raw mail → an inbox item, or kept apart (auto-reply, bounce, loop), or
  refused with a logged reason; each mail processed once (Message-ID and content digest);
- ``imap``: polling the mailbox over IMAP under a lease, moving what was processed;
- ``send`` / ``matching``: letters out by e-mail, bounces and replies matched back.
"""
