"""Before a signed-in user reaches the console: a one-time password must be replaced, and admins and
approvers must pass two-factor authentication."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

# Paths a signed-in user who still has to pass two-factor may reach.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/api/", "/favicon")


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(_ALLOWED_PREFIXES):
            return self.get_response(request)
        if user.must_change_password:
            return redirect(
                f"{reverse('accounts:password_change')}?{urlencode({'next': request.get_full_path()})}"
            )
        if user.needs_two_factor and not user.is_verified():
            from django_otp import user_has_device

            target = "accounts:otp_verify" if user_has_device(user) else "accounts:otp_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
