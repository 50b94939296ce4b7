"""API authentication: ``Authorization: Bearer loa_...`` tokens, or the console session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from loa.accounts.models import ApiToken
from loa.accounts.services import check_token_second_factor


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token or len(token) > 200:
            return None
        api_token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(token)).first()
        if api_token is None or not api_token.is_usable or not api_token.user.is_active:
            return None
        check_token_second_factor(api_token.user)  # 403 with a message, like the console's 2FA redirect
        now = timezone.now()
        if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = api_token.user
        request.loa_token = api_token  # type: ignore[attr-defined]
        return api_token


class SessionAuth(APIKeyCookie):
    """The signed-in console user; unsafe methods need the CSRF token, 2FA must be passed where required."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing to forge: answer 401 (not ninja's English CSRF 403),
        # so an anonymous POST or one with a bad Bearer token is told to authenticate.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if user.must_change_password:
            return None
        if user.needs_two_factor and not user.is_verified():
            return None
        request.loa_token = None  # type: ignore[attr-defined]
        return user


def token_of(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "loa_token", None)
