"""Settings of the Web Push alerts, with their defaults (each can be set in Django settings or the environment)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

# The push services of the browsers in use (Chrome/Android, Firefox, Edge, Safari): a subscription's endpoint
# must be an https URL on one of these hosts (or a subdomain), so an anonymous request cannot make Loa POST to
# an address of its own choosing (an internal service, say).
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)

DEFAULTS: dict[str, Any] = {
    "LOA_PUSH_SERVICE_HOSTS": DEFAULT_PUSH_HOSTS,
    "LOA_PUSH_CA_FILE": "",  # extra CA bundle to trust (tests: the loopback push service's own certificate)
    "LOA_PUSH_TTL_S": 3600,  # how long a push service keeps an alert for a phone that is offline
    "LOA_PUSH_RETRIES": 3,  # further attempts after a 429/5xx/network error
    "LOA_PUSH_RETRY_BASE_S": 1.0,  # 1 s, 2 s, 4 s… (a Retry-After of the push service wins, up to 30 s)
    "LOA_PUSH_THREADS": 16,
    "LOA_PUSH_TIMEOUT_S": 10.0,
    "LOA_PUSH_CONTACT": "",  # VAPID "sub": mailto: or https: of the operator; default the public URL
    "LOA_PUSH_MAX_PER_ENDPOINT": 10,  # communes one browser may follow
    # new subscriptions from one address in an hour (a commune hall's Wi-Fi during a meeting stays well under it)
    "LOA_PUSH_SUBSCRIBE_PER_HOUR": 120,
}


def get(name: str) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    env = os.environ.get(name)
    default = DEFAULTS[name]
    if env is None:
        return default
    if isinstance(default, tuple):
        return tuple(h.strip() for h in env.split(",") if h.strip())
    if isinstance(default, bool):
        return env.lower() in {"1", "true", "yes"}
    return type(default)(env)


def contact() -> str:
    c = str(get("LOA_PUSH_CONTACT") or "")
    if c:
        return c
    url = str(getattr(settings, "LOA_PUBLIC_URL", "") or "")
    return url if url.startswith("https://") else "mailto:quan-tri@loa.invalid"
