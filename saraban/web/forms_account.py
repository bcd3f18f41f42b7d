"""Forms of the account pages: the password change and the authenticator code."""

from __future__ import annotations

from typing import Any

from django import forms


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="รหัสผ่านปัจจุบัน", strip=False,
        error_messages={"required": "กรุณากรอกรหัสผ่านปัจจุบัน"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="รหัสผ่านใหม่", strip=False, max_length=4096,
        error_messages={"required": "กรุณากรอกรหัสผ่านใหม่"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label="ยืนยันรหัสผ่านใหม่", strip=False, max_length=4096,
        error_messages={"required": "กรุณากรอกรหัสผ่านใหม่อีกครั้ง"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("new_password")
            and data.get("new_password_again")
            and data["new_password"] != data["new_password_again"]
        ):
            self.add_error("new_password_again", "รหัสผ่านใหม่ทั้งสองช่องไม่ตรงกัน")
        return data


class OtpForm(forms.Form):
    otp = forms.CharField(
        label="รหัส 6 หลักจากแอปยืนยันตัวตน", max_length=16,
        error_messages={"required": "กรุณากรอกรหัสจากแอปยืนยันตัวตน"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )
