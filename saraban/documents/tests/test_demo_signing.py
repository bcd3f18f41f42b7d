"""The demo leaves a draft waiting for the director, who can sign it with the demo password."""

from __future__ import annotations

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Person
from saraban.demo.load import DEMO_PASSWORD, load_demo
from saraban.documents.services import awaiting, draft_sign
from saraban.letters.files import read_blob
from saraban.signatures.pades import verify_pdf


def test_director_signs_the_demo_draft(db) -> None:
    load_demo()
    director = Person.objects.get(username="director")
    [draft] = awaiting(director)
    letter = draft_sign(actor=resolve_actor(director), draft=draft, secret=DEMO_PASSWORD)
    main = letter.files.get(role="main")
    verdict = verify_pdf(read_blob(main.blob), tenant=letter.tenant)
    assert verdict.status == "valid", verdict.label_th
    assert letter.number.endswith("/1")
