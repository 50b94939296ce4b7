"""Warming the shared cache in front of Loa (nginx, ``deploy/nginx/loa.conf``) with an emergency's audio.

Every loudspeaker of an emergency asks for its new audio within the same second. nginx keeps a public answer for
all of them (ADR 0019), but the devices that ask while the first request is under way wait on nginx's cache lock,
which looks again only every 500 ms. So when the emergency's command is committed, before the gateway is poked to
publish it, one request of this server's own fetches the file through the cache (``LOA_MEDIA_WARM_URL``): by the
time the devices have verified the command and connected, the cache has it. Best effort: a failure is logged and
changes nothing else (the devices fetch it as before).
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

TIMEOUT_S = 10.0


def warm_url(sha256: str) -> str | None:
    """The address to warm, or ``None`` when no shared cache is configured (``LOA_MEDIA_WARM_URL`` empty)."""
    base = str(getattr(settings, "LOA_MEDIA_WARM_URL", "") or "")
    return f"{base.rstrip('/')}/media/files/{sha256}.mp3" if base else None


def warm_shared_cache(sha256: str) -> threading.Thread | None:
    """Fetch the file once through the shared cache, in a thread of its own (returned, or ``None`` when there is
    nothing to warm)."""
    url = warm_url(sha256)
    if url is None:
        return None
    thread = threading.Thread(target=_fetch, args=(url,), name="loa-warm-cache", daemon=True)
    thread.start()
    return thread


def _fetch(url: str) -> None:
    started = time.monotonic()
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT_S, follow_redirects=False) as response:
            size = sum(len(chunk) for chunk in response.iter_bytes())
    except httpx.HTTPError as exc:
        logger.warning("Không làm nóng được bộ đệm âm thanh khẩn cấp tại %s: %s", url, exc)
        return
    if response.status_code != 200:
        logger.warning(
            "Không làm nóng được bộ đệm âm thanh khẩn cấp tại %s: HTTP %s", url, response.status_code
        )
        return
    logger.info(
        "Đã làm nóng bộ đệm âm thanh khẩn cấp: %s (%d byte, %.0f ms, %s)",
        url, size, (time.monotonic() - started) * 1000, response.headers.get("x-cache-status", "?"),
    )  # fmt: skip
