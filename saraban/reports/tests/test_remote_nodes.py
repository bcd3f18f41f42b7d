"""A monthly report crosses between two real Saraban nodes: separate processes and databases,
sent with ``saraban reports send-monthly`` on one, delivered by its worker over HTTP, kept
by the other (the overseer's node), signed by the sending agency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from saraban.exchange import crypto
from saraban.exchange.testing import Node, connect, running_nodes, wait_until


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_nodes(request, tmp_path: Path):
    with running_nodes(tmp_path, ["lao", "prov"], db=request.param) as (lao, prov):
        for node in (lao, prov):
            node.start_web(wait=False)
            node.start_worker()
        for node in (lao, prov):
            node.wait_web()
        connect(lao, prov)
        yield lao, prov


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _reports(node: Node) -> list[dict[str, Any]]:
    rows = node.query("select sender_code, message_id, month, figures, envelope, signature, "
                      "current from exchange_receivedreport order by id")
    names = ("sender_code", "message_id", "month", "figures", "envelope", "signature",
             "current")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _id(value: Any) -> str:
    return str(value).replace("-", "")


@pytest.mark.slow
def test_a_monthly_report_reaches_the_overseers_node_signed_and_the_newer_one_replaces_it(
        two_nodes):
    lao, prov = two_nodes
    lao.run("reports", "overseer", "--agency", lao.code, "--set", prov.code)
    first = json.loads(lao.run("reports", "send-monthly", "--agency", lao.code,
                               "--month", "2568-10"))
    assert (first["from"], first["to"]) == (lao.code, prov.code)
    wait_until(lambda: len(_reports(prov)) == 1, timeout=90,
               what=f"the report at the overseer's node\n{lao.log_tail('worker')}")
    wait_until(lambda: [o["state"] for o in lao.outbox("report")] == ["sent"], timeout=60,
               what="the transport receipt back at the LAO's node")

    [kept] = _reports(prov)
    assert (kept["sender_code"], _id(kept["message_id"])) == (lao.code, _id(first["id"]))
    assert str(kept["month"]).startswith("2025-10-01") and kept["current"] in (True, 1)
    assert _json(kept["figures"]) == {k: first["report"][k]
                                      for k in ("sent", "received", "signed")}
    [published] = [e for e in lao.export_directory() if e["code"] == lao.code]
    assert crypto.verify(published["certificate_pem"], _json(kept["envelope"]),
                         kept["signature"])

    second = json.loads(lao.run("reports", "send-monthly", "--agency", lao.code,
                                "--month", "2568-10"))
    wait_until(lambda: len(_reports(prov)) == 2, timeout=90, what="the newer report")
    current = [r for r in _reports(prov) if r["current"] in (True, 1)]
    assert [_id(r["message_id"]) for r in current] == [_id(second["id"])]
