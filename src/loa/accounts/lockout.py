"""Where a request comes from, and when sign-ins are locked.

The client address is ``REMOTE_ADDR`` unless ``LOA_TRUSTED_PROXIES`` says how many reverse proxies stand in front
of Loa: then it is the address the outermost trusted proxy saw, counted from the right of ``X-Forwarded-For``
(each proxy appends the address it received the request from, so what a client puts on the left is never trusted).

Two lockouts: 5 failures per user name *and* address (django-axes' own rule), and a higher limit per user name
alone (``LOA_LOGIN_USER_FAILURE_LIMIT``), so that rotating addresses does not give an attacker unlimited guesses.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: Any) -> str:
    """The address of the client that sent ``request`` (see the module docstring)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    proxies = int(getattr(settings, "LOA_TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            found = _valid_address(hops[-proxies])
            if found:
                return found
    return _valid_address(remote) or "?"


def axes_client_address(request: Any) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: axes keys its lockout on the same address the rest of Loa sees.

    A request with no usable address (``force_login``'s bare request, a unit test) gives ``None``: axes stores its
    address columns as ``inet`` on PostgreSQL, which refuses a placeholder such as ``"?"``.
    """
    found = client_address(request)
    return None if found == "?" else found


def user_failures(username: str) -> int:
    """Failed sign-ins for ``username`` from every address within the cool-off time."""
    since = timezone.now() - timedelta(hours=float(settings.AXES_COOLOFF_TIME))
    total = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start")
    )["n"]
    return int(total or 0)


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler plus the per-user-name limit."""

    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        username = get_client_username(request, credentials)
        if not username:
            return False
        return user_failures(str(username)) >= int(settings.LOA_LOGIN_USER_FAILURE_LIMIT)
