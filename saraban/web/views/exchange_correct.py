"""Correct a withdrawn letter and send it again (issue 3), from the letter page's deliveries.

One POST runs ``letter_correct`` and then ``exchange_resend`` for every withdrawn delivery of
the letter that was not sent again yet, in one transaction: a refused file, a missing reason or
a delivery in flight shows the Thai message next to its field and nothing is saved.
"""

from __future__ import annotations

import uuid
from typing import IO, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Person
from saraban.core.errors import SarabanError
from saraban.exchange.models import MessageType, OutboxMessage, OutState
from saraban.exchange.outbox import exchange_resend
from saraban.letters.access import registries_for, visible_letters
from saraban.letters.corrections import letter_correct
from saraban.letters.models import Letter
from saraban.letters.services import Upload

from .browse import not_found, person_of

NO_DELIVERY = "ไม่พบรายการส่งหนังสือที่ถอนคืนแล้ว หรือท่านไม่มีสิทธิ์เข้าถึง"
FORM_FIELDS = frozenset({"reason", "main_file", "subject"})


class CorrectForm(forms.Form):
    reason = forms.CharField(
        label="เหตุผลการแก้ไข", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "กรุณาระบุเหตุผลการแก้ไข",
                        "max_length": "เหตุผลยาวเกิน 500 ตัวอักษร"},
    )
    main_file = forms.FileField(
        label="ไฟล์หนังสือฉบับแก้ไข (PDF หรือภาพสแกน)", required=False,
        help_text="ไม่แนบก็ได้: ใช้ไฟล์เดิม ไฟล์เดิมยังเก็บไว้และแสดงเป็นฉบับก่อนแก้ไข",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"}),
        error_messages={"empty": "ไฟล์ว่างเปล่า", "invalid": "ไฟล์ไม่ถูกต้อง"},
    )
    subject = forms.CharField(
        label="เรื่อง (ฉบับแก้ไข)", max_length=500, required=False,
        help_text="เว้นว่างไว้เมื่อไม่แก้ไขเรื่อง",
        error_messages={"max_length": "เรื่องยาวเกิน 500 ตัวอักษร"},
    )


def _withdrawn(letter_id: int) -> QuerySet[OutboxMessage]:
    """The letter's withdrawn deliveries that were not sent again yet."""
    return OutboxMessage.objects.filter(
        letter_id=letter_id, type=MessageType.LETTER, state=OutState.WITHDRAWN
    ).exclude(Exists(OutboxMessage.objects.filter(replaces=OuterRef("pk")))).order_by("pk")


def _correct_and_resend(actor: Actor, letter: Letter, data: dict[str, object]) -> int:
    upload = data.get("main_file")
    subject = str(data.get("subject") or "").strip()
    with transaction.atomic():
        letter_correct(
            actor=actor, letter=letter, reason=str(data["reason"]),
            main_file=(
                Upload(filename=getattr(upload, "name", "") or "file",
                       content=cast(IO[bytes], upload))
                if upload else None
            ),
            subject=subject or None,
        )
        resent = [exchange_resend(actor=actor, out=out) for out in _withdrawn(letter.pk)]
    return len(resent)


@login_required
def outbox_correct(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    """The form: reason, new main file, new subject; then back to the letter page."""
    person: Person = person_of(request)
    out = (
        _withdrawn_for(person).filter(message_id=message_id).select_related("letter").first()
    )
    if out is None or out.letter is None:
        return not_found(request, NO_DELIVERY)
    letter = out.letter
    form = CorrectForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                count = _correct_and_resend(resolve_actor(person), letter, form.cleaned_data)
            except SarabanError as exc:
                form.add_error(exc.field if exc.field in FORM_FIELDS else None, exc.message)
            else:
                messages.success(request, f"แก้ไขหนังสือและส่งใหม่แล้ว {count} ราย")
                return redirect(reverse("web:letter_detail", args=[letter.pk]) + "#deliveries")
        status = 400
    return render(
        request,
        "web/exchange/correct.html",
        {"form": form, "letter": letter, "out": out, "pending": list(_withdrawn(letter.pk))},
        status=status,
    )


def _withdrawn_for(person: Person) -> QuerySet[OutboxMessage]:
    """Withdrawn, not yet resent deliveries of letters this person sees and clerks for."""
    tenants = registries_for(person).values("tenant_id")
    return OutboxMessage.objects.filter(
        type=MessageType.LETTER, state=OutState.WITHDRAWN,
        letter__in=visible_letters(person), sender_id__in=tenants,
    ).exclude(Exists(OutboxMessage.objects.filter(replaces=OuterRef("pk"))))
