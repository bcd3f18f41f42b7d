"""``saraban serve`` under slow and oversized requests, through a real server process.

One node (``saraban.exchange.testing.Node``: its own database, files, secrets) is served by
``saraban serve`` (gunicorn, uvicorn workers, ``saraban.asgi``) with short timeouts and small
size limits, and spoken to over raw sockets as an attacker would: clients that announce a
body and stall, clients that never finish their headers, bodies larger than the limit
announced in the headers or streamed in chunks. The login page must keep answering, and an
oversized request must be refused from its headers, before anything is stored.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import secrets
import select
import socket
import time
from collections.abc import Iterator

import pytest

from saraban.exchange.testing import Node, _multipart, http_json

MAX_FILE = 2_000_000
MAX_UPLOAD = 3_000_000
MAX_ENVELOPE = 1_000_000
FORM_LIMIT = 10 * 1024 * 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE
TIMEOUT = 4  # header and body timeouts of the test node, seconds


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[Node]:
    root = tmp_path_factory.mktemp("serve")
    (root / "tmp").mkdir()
    # The node's database follows the pass: PostgreSQL in the PostgreSQL pass.
    db = "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    served = Node(name="serve", root=root, db=db, extra_env={
        "SARABAN_MAX_FILE_BYTES": str(MAX_FILE),
        "SARABAN_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "SARABAN_EXCHANGE_MAX_BYTES": str(MAX_ENVELOPE),
        "SARABAN_HTTP_HEADER_TIMEOUT": str(TIMEOUT),
        "SARABAN_HTTP_BODY_TIMEOUT": str(TIMEOUT),
        "TMPDIR": str(root / "tmp"),  # where Django would spool a large body
    })
    try:
        served.start_web(wait=False)  # boots while the database is set up
        served.setup()
        served.wait_web()
        for _ in range(4):  # every worker has served a page before anything is measured
            _login_page_seconds(served)
        yield served
    finally:
        served.close()


def _connect(node: Node) -> socket.socket:
    return socket.create_connection(("127.0.0.1", node.port), timeout=10)


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response from the socket: status, headers (lower-case), body."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def _login_page_seconds(node: Node) -> float:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    try:
        conn.request("GET", "/login/")
        response = conn.getresponse()
        assert response.status == 200
        assert "csrfmiddlewaretoken" in response.read().decode()
    finally:
        conn.close()
    return time.monotonic() - started


@contextlib.contextmanager
def _stalled_clients(node: Node, *, bodies: int, headers: int) -> Iterator[list[socket.socket]]:
    """``bodies`` clients that announce 1000 bytes and send one; ``headers`` that never end."""
    socks = []
    try:
        for i in range(bodies):
            s = _connect(node)
            path = "/login/" if i % 2 else "/api/v1/auth/token"
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode())
            socks.append(s)
        for _ in range(headers):
            s = _connect(node)
            s.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def _nothing_stored(node: Node) -> list[str]:
    """Every file under the node's file store and temporary directory."""
    found = []
    for where in (node.root / "files", node.root / "tmp"):
        if where.exists():
            found += [str(p) for p in where.rglob("*") if p.is_file()]
    return found


def test_login_page_answers_while_50_clients_stall(node):
    with _stalled_clients(node, bodies=40, headers=10) as socks:
        opened = time.monotonic()
        time.sleep(0.3)  # let the server take them all in
        seconds = [_login_page_seconds(node) for _ in range(5)]
        if time.monotonic() - opened < TIMEOUT - 0.5:
            # Still within their timeouts: all connected, none answered.
            assert select.select(socks, [], [], 0)[0] == []
    assert max(seconds) < 5, seconds


def test_request_over_the_limit_is_refused_from_its_headers(node):
    before = _nothing_stored(node)
    for path, content_type, limit in (
        ("/api/v1/letters/incoming", "multipart/form-data; boundary=x", MAX_UPLOAD),
        ("/exchange/v1/messages", "application/json", MAX_ENVELOPE),
        ("/api/v1/auth/token", "application/json", FORM_LIMIT),
        ("/login/", "application/x-www-form-urlencoded", FORM_LIMIT),
    ):
        with _connect(node) as s:
            # Only the headers: the server must answer without waiting for the body.
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Content-Type: {content_type}\r\n"
                      f"Content-Length: {limit + 1}\r\n\r\n".encode())
            s.settimeout(5)
            status, headers, body = _answer(s)
        assert status == 413, (path, status, body)
        assert headers["connection"] == "close"
        answer = json.loads(body)
        assert answer["code"] == "request_too_large"
        assert answer["details"] == {"max_bytes": limit}
        assert answer["message"]
    assert _nothing_stored(node) == before


def test_refusal_for_a_browser_is_a_thai_page(node):
    with _connect(node) as s:
        s.sendall(b"POST /register/incoming/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Accept: text/html,application/xhtml+xml\r\n"
                  b"Content-Type: multipart/form-data; boundary=x\r\n"
                  b"Content-Length: 999999999\r\n\r\n")
        status, headers, body = _answer(s)
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    assert "เกินกำหนด" in body.decode() and "request_too_large" in body.decode()


def test_chunked_body_is_refused_once_it_passes_the_limit(node):
    before = _nothing_stored(node)
    chunk = b"x" * 65536
    sent = 0
    with _connect(node) as s:
        s.sendall(b"POST /exchange/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        while sent < 4 * MAX_ENVELOPE:
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            if select.select([s], [], [], 0.05)[0]:
                break
        s.settimeout(5)
        status, _, body = _answer(s)
    assert status == 413
    assert json.loads(body)["code"] == "request_too_large"
    assert sent <= MAX_ENVELOPE + 4 * len(chunk), sent  # refused as soon as it passed
    assert _nothing_stored(node) == before


def test_clients_that_stop_sending_get_408_and_are_closed(node):
    with _connect(node) as body, _connect(node) as head:
        body.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        head.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        for s in (body, head):
            status, headers, answer = _answer(s)
            assert status == 408
            assert json.loads(answer)["code"] == "request_timeout"
            assert headers["connection"] == "close"
            assert s.recv(1) == b""  # closed by the server
        waited = time.monotonic() - started
    assert TIMEOUT - 0.5 < waited < TIMEOUT + 5


def _first_login_password_change(node: Node) -> None:
    """The clerk changes the password onboarding chose, as the API asks at first sign-in."""
    new = secrets.token_urlsafe(16)
    answer = node.api("POST", "/auth/password", body=json.dumps(
        {"current_password": node.clerk_password, "new_password": new}).encode())
    assert answer.status in (200, 201), answer.body
    node.clerk_password, node._token = new, ""


def test_upload_within_the_limit_is_stored_and_streamed_back(node):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("scan.bin", os.urandom(1_500_000))  # a large, incompressible PDF
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
    assert 1_000_000 < len(pdf) < MAX_FILE
    data = {"registry_id": node.registry_id, "kind": "external", "subject": "ทดสอบไฟล์ใหญ่",
            "sender_text": "จังหวัดทดสอบ"}
    body, content_type = _multipart({"data": json.dumps(data, ensure_ascii=False)},
                                    [("file", "letter.pdf", pdf, "application/pdf")])
    answer = node.api("POST", "/letters/incoming", body=body, content_type=content_type)
    if answer.status == 403 and answer.body["code"] == "password_change_required":
        _first_login_password_change(node)
        answer = node.api("POST", "/letters/incoming", body=body, content_type=content_type)
    assert answer.status == 201, answer.body
    letter = answer.body["letter"]
    file_id = letter["files"][0]["id"]
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    try:
        conn.request("GET", f"/api/v1/letters/{letter['id']}/files/{file_id}",
                     headers={"Authorization": f"Bearer {node._token}"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(len(pdf))
        assert response.read() == pdf
        # The same connection is kept alive for the next request (a static file).
        conn.request("GET", "/static/fonts/sarabun/Sarabun-Regular.ttf")
        font = conn.getresponse()
        assert font.status == 200
        assert str(len(font.read())) == font.getheader("Content-Length") != "0"
    finally:
        conn.close()


def test_normal_requests_pass_the_limits(node):
    answer = http_json("POST", f"{node.url}/api/v1/auth/token",
                       body=json.dumps({"username": node.clerk, "password": "wrong"}).encode(),
                       headers={"Content-Type": "application/json"})
    assert answer.status == 401
    assert http_json("GET", f"{node.url}/exchange/v1/directory").status == 200


def test_forwarded_proto_from_the_local_proxy_makes_the_request_https(node):
    """A reverse proxy on this host (FORWARDED_ALLOW_IPS) says the client came over TLS."""
    answer = http_json("GET", f"{node.url}/exchange/v1/directory",
                       headers={"X-Forwarded-Proto": "https", "Host": "saraban.example.go.th",
                                "X-Forwarded-For": "203.0.113.7"})
    assert answer.status == 400  # an unknown host is still refused (SARABAN_ALLOWED_HOSTS)
    answer = http_json("GET", f"{node.url}/exchange/v1/directory",
                       headers={"X-Forwarded-Proto": "https"})
    assert answer.status == 200
    [entry] = answer.body["entries"]
    assert entry["node_url"] == f"https://127.0.0.1:{node.port}"


def test_login_form_posts_through_csrf_behind_the_proxy(node):
    """Sessions and CSRF work over ASGI: the form's token and cookie are accepted over HTTPS."""
    proxied = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{node.port}"}
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    try:
        conn.request("GET", "/login/", headers=proxied)
        page = conn.getresponse()
        html = page.read().decode()
        cookie = next(c.split(";")[0] for c in page.headers.get_all("Set-Cookie") or []
                      if c.startswith("csrftoken="))
        assert "; Secure" in page.headers["Set-Cookie"]
        token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        form = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong"
        headers = {**proxied, "Cookie": cookie, "Referer": f"https://127.0.0.1:{node.port}/login/",
                   "Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/login/", body=form, headers=headers)
        answer = conn.getresponse()
        body = answer.read().decode()
        assert answer.status in (200, 400), body[:500]  # the form again with its error, no 403
        assert "csrfmiddlewaretoken" in body
        conn.request("POST", "/login/", body=form, headers={**headers, "Cookie": ""})
        refused = conn.getresponse()
        refused.read()
        assert refused.status == 403  # without the cookie, CSRF refuses
    finally:
        conn.close()


def test_a_locked_sign_in_answers_429_under_the_real_server_in_every_interface(node):
    """django-axes answers a lock from its async middleware under ASGI: never a 500."""
    def token(username: str, password: str) -> tuple[int, object]:
        answer = http_json("POST", f"{node.url}/api/v1/auth/token",
                           body=json.dumps({"username": username, "password": password}).encode(),
                           headers={"Content-Type": "application/json"})
        return answer.status, answer.body

    victim = f"locked-{secrets.token_hex(3)}"
    statuses = [token(victim, "wrong")[0] for _ in range(6)]
    assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {429}, statuses
    status, body = token(victim, "wrong")
    assert status == 429 and isinstance(body, dict) and body["code"] == "login_locked"

    admin = f"admin-{secrets.token_hex(3)}"
    answers = []
    for _ in range(6):
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
        try:
            conn.request("GET", "/admin/login/")
            page = conn.getresponse()
            html = page.read().decode()
            cookie = next(c.split(";")[0] for c in page.headers.get_all("Set-Cookie") or []
                          if c.startswith("csrftoken="))
            csrf = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
            conn.request("POST", "/admin/login/",
                         body=f"csrfmiddlewaretoken={csrf}&username={admin}&password=wrong",
                         headers={"Cookie": cookie, "Referer": f"{node.url}/admin/login/",
                                  "Content-Type": "application/x-www-form-urlencoded"})
            answer = conn.getresponse()
            answers.append((answer.status, answer.read().decode()))
        finally:
            conn.close()
    assert [s for s, _ in answers][:4] == [200] * 4
    assert {s for s, _ in answers[4:]} == {429}
    assert "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินกำหนด" in answers[-1][1]
