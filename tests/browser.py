"""Playwright driving Debian's Chromium (never a downloaded browser), for tests marked ``browser``."""

from __future__ import annotations

import os
import shutil
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


@contextmanager
def browser_page(**context_args: Any) -> Iterator[Any]:
    """A fresh page in headless Chromium; requests to any host but localhost are counted as a failure."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
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
        assert not external, f"the page reached outside this machine: {external}"
