"""First load of the officer's pages on a throttled phone (issue 19; DESIGN §8: ≤ 1 s warm, ≤ 2 s cold).

Run: LOA_DATA_DIR=<dir seeded by bench/console_pages.py> .venv/bin/python bench/phone_first_load.py [--runs 5]

The server is the production one (``loa serve``: uvicorn, WhiteNoise with compressed static files) on this
machine, over the province of ``bench/console_pages.py`` (3,000 clusters, today's plays); if the data directory
has no clusters yet that script seeds it first (``--only dashboard``). A commune operator of the first commune
(signed in by a session cookie, so the login page is not measured) opens the dashboard, the bulletin form and the
proof of play in Debian's Chromium at 390×844, through Chrome DevTools Protocol throttling: 1.6 Mbit/s down,
750 kbit/s up, 150 ms round trip (Lighthouse's "slow 4G"), CPU slowed 4×.

"cold": a fresh browser context (empty cache, new connection; the server process has answered each page once); "warm": the same page again in that context (the
stylesheet and scripts come from the cache). Per page and mode: the median over ``--runs`` of the time to
``load`` (navigation start → load event end), with DOMContentLoaded, first contentful paint and the bytes that
crossed the network. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
ROOT = Path(__file__).resolve().parent.parent
PAGES = {"dashboard": "/", "bulletin form": "/bulletins/new/", "proof of play": "/broadcast/proof/"}
PROFILE = {"download_bps": 1_600_000, "upload_bps": 750_000, "rtt_ms": 150, "cpu_slowdown": 4}
METRICS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const bytes = performance.getEntriesByType('resource').reduce((n, r) => n + (r.transferSize || 0), 0)
                + (nav.transferSize || 0);
  return {load_ms: nav.loadEventEnd, dom_ms: nav.domContentLoadedEventEnd, fcp_ms: fcp ? fcp.startTime : null,
          bytes: bytes};
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(province: str) -> tuple[str, str]:
    """A commune operator's session cookie on the bench province (seeded first if needed) → (cookie name, value)."""
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from loa.accounts.models import RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.fleet.models import Device
    from loa.units.models import Level, Unit

    if not Device.objects.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "console_pages.py"),
                "--only",
                "dashboard",
                "--requests",
                "1",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    commune = Unit.objects.filter(parent__code=province, level=Level.COMMUNE).order_by("code").first()
    assert commune is not None, "no commune in the bench province"
    user, _ = User.objects.get_or_create(username="bench.operator", defaults={"full_name": "Cán bộ xã"})
    RoleAssignment.objects.get_or_create(user=user, role=Role.COMMUNE_OPERATOR, unit=commune)
    client = Client()
    client.force_login(user)
    session = client.session
    session["loa_unit"] = commune.code
    session.save()
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def _measure(base: str, cookie: tuple[str, str], runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LOA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
    results: dict[str, Any] = {}
    import urllib.request

    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"{cookie[0]}={cookie[1]}")]
    for path in PAGES.values():  # the server process is warm (imports, first queries); the browser is not
        opener.open(base + path, timeout=60).read()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        for name, path in PAGES.items():
            samples: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                              has_touch=True, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")  # fmt: skip
                context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": base}])
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", {
                    "offline": False, "latency": PROFILE["rtt_ms"],
                    "downloadThroughput": PROFILE["download_bps"] / 8, "uploadThroughput": PROFILE["upload_bps"] / 8,
                })  # fmt: skip
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": PROFILE["cpu_slowdown"]})
                for mode in ("cold", "warm"):
                    response = page.goto(base + path, wait_until="load")
                    assert response is not None and response.status == 200, (
                        path,
                        response and response.status,
                    )
                    assert "/accounts/login" not in page.url, "the bench session was not accepted"
                    samples[mode].append(page.evaluate(METRICS))
                context.close()
            results[name] = {
                "url": path,
                **{
                    mode: {
                        "load_ms": round(statistics.median(s["load_ms"] for s in rows)),
                        "max_load_ms": round(max(s["load_ms"] for s in rows)),
                        "dom_ms": round(statistics.median(s["dom_ms"] for s in rows)),
                        "fcp_ms": round(statistics.median(s["fcp_ms"] or 0 for s in rows)),
                        "bytes": round(statistics.median(s["bytes"] for s in rows)),
                    }
                    for mode, rows in samples.items()
                },
            }
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--province", default="22")
    args = parser.parse_args()
    if not os.environ.get("LOA_DATA_DIR"):
        sys.exit("Đặt LOA_DATA_DIR tới thư mục dữ liệu của bench/console_pages.py (set LOA_DATA_DIR).")
    cookie = _prepare(args.province)
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "loa"), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"LOA_PUBLIC_URL": f"http://127.0.0.1:{port}"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("loa serve did not start")
                time.sleep(0.3)
        pages = _measure(f"http://127.0.0.1:{port}", cookie, args.runs)
    finally:
        server.terminate()
        server.wait(15)
    out = {
        "profile": PROFILE,
        "viewport": "390x844",
        "runs": args.runs,
        "budget_ms": {"warm": 1000, "cold": 2000},
        "pages": pages,
        "within_budget": all(
            p["warm"]["load_ms"] <= 1000 and p["cold"]["load_ms"] <= 2000 for p in pages.values()
        ),
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
