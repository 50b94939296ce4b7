from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Tên đăng nhập"), max_length=150)
    password = forms.CharField(label=_("Mật khẩu"), widget=forms.PasswordInput, max_length=256)


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Mã xác thực"),
        max_length=16,
        help_text=_("6 chữ số trong ứng dụng xác thực, hoặc một mã khôi phục."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self) -> str:
        return "".join(self.cleaned_data["token"].split())


class PasswordChangeForm(forms.Form):
    """A new password, confirmed by the current one unless this is the forced change of a one-time password
    (a stolen session alone must not be enough to take the account over)."""

    old_password = forms.CharField(
        label=_("Mật khẩu hiện tại"), widget=forms.PasswordInput, max_length=256, required=False
    )
    new_password1 = forms.CharField(label=_("Mật khẩu mới"), widget=forms.PasswordInput, max_length=256)
    new_password2 = forms.CharField(
        label=_("Nhập lại mật khẩu mới"), widget=forms.PasswordInput, max_length=256
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.needs_current = not getattr(user, "must_change_password", False)
        if self.needs_current:
            self.fields["old_password"].required = True

    def clean_old_password(self) -> str:
        old = str(self.cleaned_data.get("old_password") or "")
        if self.needs_current and not self.user.check_password(old):
            raise forms.ValidationError(_("Mật khẩu hiện tại không đúng."))
        return old

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        p1, p2 = data.get("new_password1"), data.get("new_password2")
        if p1 and p2 and p1 != p2:
            raise forms.ValidationError(_("Hai mật khẩu không khớp nhau."))
        if p1:
            password_validation.validate_password(str(p1), self.user)
        return data
