"""Playwright driving Debian's Chromium (never a downloaded browser), for tests marked ``browser``."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    path = os.environ.get("LOA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError("Chromium is missing: apt-get install chromium (the CI script installs it).")
    return path


def close_block_connections() -> None:
    """Close the Django database connections of a ``sync_playwright`` block.

    Playwright's sync API runs its asyncio loop in this thread (in another greenlet) for the whole block, so
    ``asyncio.get_running_loop()`` answers there, and asgiref's thread-critical ``Local`` — Django's connections —
    then keeps them in a context variable instead of the thread (docs/testing.md "Browser tests and database
    connections"). The test's ORM calls inside the block therefore open a second connection that pytest-django
    never closes: it lived on, idle, in the session's context, and the next browser test of the same worker reused
    it. On PostgreSQL a test that ends the database's connections in between (``tests/loa/gateway/test_storm.py``,
    the database outage) left it terminated, and that browser test failed with "terminating connection due to
    administrator command" (the board player tests, .ci/run 2026-12-05). Called when a block starts (an earlier
    block's leftover) and when it ends."""
    if "django.db" not in sys.modules:
        return
    from django.db import connections

    connections.close_all()


@contextmanager
def browser_page(**context_args: Any) -> Iterator[Any]:
    """A fresh page in headless Chromium; requests to any host but localhost are counted as a failure. The Django
    connections the block opens are closed with it (:func:`close_block_connections`)."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        close_block_connections()
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **context_args)
        page = context.new_page()
        external: list[str] = []

        def watch(request: Any) -> None:
            if not request.url.startswith(("http://localhost", "http://127.0.0.1", "data:", "blob:")):
                external.append(request.url)

        page.on("request", watch)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            close_block_connections()
        assert not external, f"the page reached outside this machine: {external}"
