"""Secure by default: CSP on every page, no inline scripts or styles, CSRF on forms."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import SeriesKind
from saraban.letters.services import LetterDetails, letter_register_incoming

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style[\s>]", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def _pages(org) -> list[str]:
    entry = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ทดสอบ", sender_text="กรมการปกครอง"),
    )
    return [
        reverse("web:dashboard"),
        reverse("web:registers"),
        reverse("web:register_list", args=[org.central.pk, SeriesKind.INCOMING]),
        reverse("web:register_print", args=[org.central.pk, SeriesKind.INCOMING]),
        reverse("web:letter_detail", args=[entry.letter_id]),
        reverse("web:letter_detail", args=[entry.letter_id + 999]),
    ]


def test_csp_header_is_strict_on_every_page(client, org):
    client.force_login(org.clerk)
    for url in [*_pages(org), reverse("web:login")]:
        csp = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in csp, url
        assert "style-src 'self'" in csp, url
        assert "unsafe-inline" not in csp


def test_pages_carry_no_inline_script_style_or_handlers(client, org):
    client.force_login(org.clerk)
    pages = _pages(org)
    client.logout()
    pages_html = [client.get(reverse("web:login")).content.decode()]
    client.force_login(org.clerk)
    pages_html += [client.get(url).content.decode() for url in pages]
    for html in pages_html:
        assert not INLINE_SCRIPT.search(html)
        assert not STYLE_ATTR.search(html)
        assert not STYLE_TAG.search(html)
        assert not EVENT_HANDLER.search(html)


def test_pages_use_local_font_and_htmx_only(client, org):
    client.force_login(org.clerk)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert '<html lang="th">' in html
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "http://" not in html and "https://" not in html
    css = b"".join(client.get("/static/web/saraban.css").streaming_content).decode()
    assert "Sarabun-Regular.ttf" in css and "@media print" in css
    font = client.get("/static/fonts/sarabun/Sarabun-Regular.ttf")
    assert font.status_code == 200
    font.close()


def test_login_form_requires_csrf(org):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("web:login"), {"username": "clerk", "password": "x"})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_secure_outside_the_demo(client, org, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = client.post(reverse("web:login"), {"username": "clerk",
                                                   "password": "saraban-demo"})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["secure"]


def test_files_are_not_cached_by_shared_caches(client, org):
    from saraban.letters.services import Upload
    from saraban.web.tests.test_browse import tiny_pdf

    entry = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ทดสอบ", sender_text="กรม"),
        main_file=Upload("a.pdf", tiny_pdf()),
    )
    client.force_login(org.clerk)
    url = reverse("web:letter_file", args=[entry.letter_id, entry.letter.files.get().pk])
    response = client.get(url)
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_other_not_found_pages_are_thai(client, org):
    client.force_login(org.officer)
    url = reverse("web:register_list", args=[org.central.pk, SeriesKind.INCOMING])
    response = client.get(url)
    assert response.status_code == 404
    assert "ไม่พบ" in response.content.decode()
