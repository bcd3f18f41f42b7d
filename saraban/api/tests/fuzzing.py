"""Run schemathesis against the API in this process, as a person with a real token.

The OpenAPI document is loaded from the app itself (``/api/v1/openapi.json``) and every
operation is exercised through the WSGI app with every check schemathesis has, in all its
phases (the schema's examples, the coverage phase's edge cases such as NUL characters and
huge numbers, random fuzzing, and stateful sequences that follow the responses' links).
Used by the suite's ``test_schemathesis.py`` (few examples) and ``bench/fuzz_api.py`` (many).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status
from schemathesis.engine import events as ev

OPENAPI = "/api/v1/openapi.json"
PHASES = ("examples", "coverage", "fuzzing", "stateful")

# Answers a schema-valid request may get without it being a fault: besides schemathesis's own
# list (2xx, 401, 403, 404, 409, 429), 400 is a domain rule (an id that names nothing, a
# subject left blank, a decision already taken), which no schema can express.
ACCEPTED_VALID = ["2xx", "400", "401", "403", "404", "409", "429"]


@dataclass
class Finding:
    """One failed check on one operation."""

    operation: str
    check: str
    code: str
    title: str
    status: int | None
    curl: str


@dataclass
class FuzzResult:
    cases: int = 0
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def server_errors(self) -> list[Finding]:
        return [f for f in self.findings if f.status is not None and f.status >= 500]

    def summary(self) -> dict[str, Any]:
        by_check = collections.Counter(f.check for f in self.findings)
        return {
            "cases": self.cases,
            "server_errors": len(self.server_errors),
            "failures": len(self.findings),
            "by_check": dict(sorted(by_check.items())),
            "errors": len(self.errors),
        }

    def report(self) -> str:
        lines = [f"{f.operation}: {f.check} ({f.code} {f.title}) -> {f.status}\n    {f.curl}"
                 for f in self.findings]
        return "\n".join(lines + [f"error: {e}" for e in self.errors])


def config(*, token: str, max_examples: int, seed: int | None = 1,
           phases: Iterable[str] = PHASES) -> schemathesis.Config:
    """All checks, the given phases, bounded examples, the token on every request."""
    chosen = set(phases)
    data: dict[str, Any] = {
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"max-examples": max_examples, "mode": "all", "database": "none",
                       "no-shrink": True},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_VALID}},
        "phases": {name: {"enabled": name in chosen} for name in PHASES},
        "workers": 1,
        "warnings": False,
        "suppress-health-check": ["all"],
        "continue-on-failure": True,
    }
    if seed is not None:
        data["seed"] = seed
    return schemathesis.Config.from_dict(data)


def _status(recorder: Any, case_id: str) -> int | None:
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return None
    return int(interaction.response.status_code)


def load(app: Any, *, token: str, max_examples: int, seed: int | None = 1,
         phases: Iterable[str] = PHASES) -> Any:
    """The API's OpenAPI document, from the WSGI ``app`` (or the node at the URL ``app``),
    configured as ``config`` says."""
    chosen = config(token=token, max_examples=max_examples, seed=seed, phases=phases)
    if isinstance(app, str):
        return schemathesis.openapi.from_url(app.rstrip("/") + OPENAPI, config=chosen)
    return schemathesis.openapi.from_wsgi(OPENAPI, app, config=chosen)


def run_here(app: Any, *, token: str, max_examples: int, seed: int | None = 1,
             phases: Iterable[str] = ("examples", "coverage", "fuzzing")) -> FuzzResult:
    """Every operation's examples, coverage and fuzzing cases, in this thread.

    The engine (``run``) calls the app from worker threads, each with its own database
    connection; a test's data lives in its own uncommitted transaction, which only this
    thread's connection sees. Each operation becomes a Hypothesis test as schemathesis's
    pytest plugin builds it; the first failing check of an operation is its finding.
    """
    result = FuzzResult()
    statuses: collections.Counter[tuple[str, int]] = collections.Counter()

    def call(case: Any) -> None:
        response = case.call()
        result.cases += 1
        statuses[(case.operation.label, response.status_code)] += 1
        try:
            case.validate_response(response)
        except BaseExceptionGroup as group:
            for failure in group.exceptions:
                result.findings.append(Finding(
                    operation=case.operation.label, check=type(failure).__name__,
                    code=str(getattr(failure, "code", "")),
                    title=str(getattr(failure, "title", "")), status=response.status_code,
                    curl=f"{failure}\n    {case.as_curl_command()}",
                ))
            raise _Recorded from None

    with _connection_kept():
        schema = load(app, token=token, max_examples=max_examples, seed=seed, phases=phases)
        operations = [item.ok() for item in schema.get_all_operations()]
        # The person's own tokens last: revoking one (an id drawn at random can be the
        # token in use) leaves every later request unauthenticated.
        operations.sort(key=lambda op: "/auth/" in op.path)
        for operation in operations:
            _run_operation(operation, schema, call, result)
    result.statuses = dict(statuses)
    return result


class _Recorded(Exception):
    """A case's failed checks, already recorded: ends that operation's run."""


@contextlib.contextmanager
def _connection_kept() -> Iterator[None]:
    """Keep the database connection open across requests, as Django's test client does: the
    WSGI handler closes it at the end of each request, and the test's transaction with it."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run_operation(operation: Any, schema: Any, call: Any, result: FuzzResult) -> None:
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.pytest._test_builder import build_operation_test

    test = build_operation_test(config=schema.config, operation=operation,
                                test_func=call, given_kwargs={},
                                feedback=FeedbackSources())
    try:
        test()
    except _Recorded:
        pass
    except (Exception, BaseExceptionGroup) as exc:  # failed checks: the text says which
        failures = getattr(exc, "exceptions", None) or [exc]
        for failure in failures:
            result.findings.append(Finding(
                operation=operation.label, check=type(failure).__name__,
                code=str(getattr(failure, "code", "")),
                title=str(getattr(failure, "title", "")),
                status=getattr(failure, "status_code", None), curl=str(failure),
            ))


def run(app: Any, *, token: str, max_examples: int, seed: int | None = 1,
        phases: Iterable[str] = PHASES, include_path_regex: str | None = None,
        exclude_path_regex: str | None = None) -> FuzzResult:
    """Fuzz the operations of the API of the WSGI ``app`` (all, or those whose path matches
    or does not match a regex) with schemathesis's engine; the findings, deduplicated.

    The engine calls the app from worker threads, each with its own database connection:
    the data it needs must be committed (``bench/fuzz_api.py``), unlike ``run_here``'s.
    """
    schema = load(app, token=token, max_examples=max_examples, seed=seed, phases=phases)
    if include_path_regex:
        schema = schema.include(path_regex=include_path_regex)
    if exclude_path_regex:
        schema = schema.exclude(path_regex=exclude_path_regex)
    result = FuzzResult()
    seen: set[tuple[str, str, str, int | None]] = set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, ev.NonFatalError):
            result.errors.append(f"{event.label}: {event.info}")
            continue
        if isinstance(event, ev.FatalError):
            raise event.exception
        if not isinstance(event, ev.ScenarioFinished):
            continue
        recorder = event.recorder
        result.cases += len(recorder.cases)
        if event.status != Status.FAILURE:
            continue
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.status != Status.FAILURE or check.failure_info is None:
                    continue
                failure = check.failure_info.failure
                status = _status(recorder, case_id)
                operation = failure.operation or recorder.label
                key = (operation, check.name, failure.title, status)
                if key in seen:
                    continue
                seen.add(key)
                result.findings.append(Finding(
                    operation=operation, check=check.name, code=failure.code,
                    title=failure.title, status=status,
                    curl=check.failure_info.code_sample,
                ))
    return result
