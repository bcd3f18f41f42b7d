"""schemathesis against the API, in the suite: every operation, every check, few examples.

The OpenAPI document is loaded from the app and each operation is called through the WSGI
app, in this test's thread and database transaction, as the registry clerk of the sample
organisation (a real person with a real token), in schemathesis's examples, coverage and
fuzzing phases. Any failed check fails the test with the request that reproduces it: a
server error, an answer code, type or body the document does not declare, a schema-valid
request refused for its shape, data the schema forbids accepted, … .
``bench/fuzz_api.py`` runs the same with many more examples, and the stateful phase.
"""

from __future__ import annotations

import time

from django.core.handlers.wsgi import WSGIHandler

from .fuzzing import run_here

MAX_EXAMPLES = 2


def test_every_operation_passes_every_check(api, org):
    started = time.monotonic()
    result = run_here(WSGIHandler(), token=api.token("clerk"), max_examples=MAX_EXAMPLES)
    elapsed = time.monotonic() - started
    assert not result.findings, f"{result.summary()}\n{result.report()}"
    answered = {label for (label, status) in result.statuses if status < 300}
    # The clerk really is signed in: the lists, searches and registries answered 2xx (most
    # drawn ids name nothing, so those operations answer 404, and drawn letters 400).
    assert len(answered) >= 5, sorted(result.statuses.items())
    assert result.cases > 300, result.summary()
    assert elapsed < 120, f"schemathesis took {elapsed:.0f} s: lower MAX_EXAMPLES"
