"""Board player figures (issue 9), printed as one JSON object (figures, not pass/fail; docs/benchmarks.md):

* **emergency takeover**: N players (one headless Chromium, one context each, each enrolled as its own board) show
  their manifest; emergencies for their commune start, and each page notes when its takeover appeared. Every one
  goes through ``do_start_emergency`` as the API does — TOTP code, speech synthesis of a text not spoken before,
  the loudspeakers' signed command — each by its own approver (a TOTP code serves once per 30 s step). Timed from
  the call: the screens (``api_call_to_screen_s``) and the call's return, i.e. the speech and the loudspeakers'
  command stored (``api_call_to_speech_and_command_s``); ``screens_before_speech_done`` counts the screens that
  showed it before the call returned. ``--load N`` runs N busy processes during this part (the machine under load,
  as when the speech took 21 s). Each ends with a cancel, timed until every screen is back.
* **first paint** of content on a 4× CPU-throttled profile (CDP ``Emulation.setCPUThrottlingRate``): cold (new
  profile: no service worker, no cache, manifest fetched) and warm (reload: shell, manifest and media from cache).
* **memory**: one player cycling slides of ``--slide-ms`` for the slide changes of ``--hours`` simulated hours of
  8 s slides; JS heap and DOM nodes after a forced garbage collection, after warm-up and at the end.

    .venv/bin/python bench/board_player.py --players 50 --emergencies 5 --hours 24 [--load 2]

Runs in a fresh data folder (SQLite, migrated here) with the real web server (``loa serve``, uvicorn) as a child.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {what}")
        time.sleep(0.05)


def world(players: int, approvers: int = 1) -> dict[str, Any]:
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from loa.accounts.models import RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.fleet.models import BoardScreen, Device, DeviceKind
    from loa.fleet.services import do_provision_device
    from loa.units.models import Kind, Level, Unit

    province = Unit.objects.create(code="22", name="Quảng Ninh", kind=Kind.TINH, level=Level.PROVINCE)
    commune = Unit.objects.create(code="06652", name="Phường Hà Tu", kind=Kind.PHUONG, level=Level.COMMUNE,
                                  parent=province)  # fmt: skip
    deciders = []
    for k in range(max(1, approvers)):
        user = User.objects.create_user(username=f"chu-tich-{k}", password=None, full_name=f"Chủ tịch {k}")
        RoleAssignment.objects.create(user=user, role=Role.APPROVER, unit=commune)
        deciders.append((user, TOTPDevice.objects.create(user=user, name="bench", confirmed=True)))
    do_provision_device(commune, actor=None, serial="LOA-1")  # a cluster: the emergency's command needs one
    boards = []
    for i in range(players + 2):
        device, password = do_provision_device(commune, actor=None, serial=f"BOARD-{i}")
        Device.objects.filter(pk=device.pk).update(kind=DeviceKind.EBOARD)
        BoardScreen.objects.create(device=device, screen_class="landscape", width=1920, height=1080)
        boards.append({"device_id": device.device_id, "password": password})
    return {"commune": commune, "approvers": deciders, "boards": boards, "now": timezone.now()}


def publish(device_id: str, slide_s: float, version: int = 1) -> None:
    from django.utils import timezone

    from loa.fleet import keys
    from loa.signage.models import BoardManifestRow
    from loa_protocol.board import BoardManifest
    from loa_protocol.signing import sign

    now = timezone.now()
    texts = ["Họp dân lúc 19 giờ tại nhà văn hóa.", "Tiêm chủng mở rộng ngày 12/12.", "Thu gom rác thứ Bảy."]
    manifest = BoardManifest.model_validate(
        {
            "device_id": device_id, "version": version, "issued_at": now, "valid_until": now + dt.timedelta(hours=48),
            "screen": {"screen_class": "landscape", "width": 1920, "height": 1080, "orientation": "landscape"},
            "layouts": [{"layout_id": "L", "zones": [
                {"zone_id": "main", "role": "main", "width": 1920, "height": 960},
                {"zone_id": "ticker", "role": "ticker", "y": 960, "width": 1920, "height": 120}]}],
            "timeline": [{
                "entry_id": "b1", "start": now - dt.timedelta(minutes=1), "end": now + dt.timedelta(hours=47),
                "playlist_id": "1", "layout_id": "L",
                "slides": [{"slide_id": f"t{i}", "kind": "text", "duration_s": slide_s, "zone": "main",
                            "text": {"title": "Thông báo", "body": body}} for i, body in enumerate(texts)]
                + [{"slide_id": "k", "kind": "ticker", "duration_s": 3600.0, "zone": "ticker",
                    "text": {"body": "Phòng chống bão số 15: theo dõi tin trên loa truyền thanh."}}],
            }],
        }
    )  # fmt: skip
    signed = sign(manifest, keys.private_key())
    BoardManifestRow.objects.update_or_create(
        device_id=device_id, defaults={"version": version, "payload": signed.model_dump_json().encode()}
    )


def open_player(browser: Any, base: str, board: dict[str, Any], throttle: float = 0) -> tuple[Any, Any]:
    from loa.fleet import keys

    context = browser.new_context(viewport={"width": 640, "height": 360})
    creds = {"device_id": board["device_id"], "password": board["password"], "public_key": keys.public_key(),
             "unit_codes": ["22", "06652"], "enrolled_at": None}  # fmt: skip
    context.add_init_script(f"localStorage.setItem('loa.board.creds', {json.dumps(json.dumps(creds))});")
    page = context.new_page()
    if throttle:
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    return context, page


def emergencies(pages: list[Any], w: dict[str, Any], count: int) -> dict[str, Any]:
    from django.utils import timezone
    from django_otp.oath import TOTP

    from loa.broadcast.emergency import do_start_emergency
    from loa.broadcast.models import Emergency

    screens: list[float] = []
    returned: list[float] = []
    before = 0
    cancels: list[float] = []
    for k in range(count):
        for page in pages:
            page.evaluate("window.loaBoard.emergencyShownAt = 0")
        user, d = w["approvers"][k % len(w["approvers"])]
        code = f"{TOTP(d.bin_key, d.step, d.t0, d.digits, d.drift).token():06d}"
        t0 = time.time() * 1000
        e = do_start_emergency(w["commune"], actor=user, totp=code, title="Lũ quét",
                               text=f"Bà con vùng trũng thấp di chuyển ngay lên vùng cao. Bản tin số {k + 1}.")  # fmt: skip
        done = time.time() * 1000
        returned.append((done - t0) / 1000)
        wait(
            lambda: all(p.evaluate("window.loaBoard.emergencyShownAt") for p in pages),
            120,
            "takeover everywhere",
        )
        shown = [p.evaluate("window.loaBoard.emergencyShownAt") for p in pages]
        screens.extend((at - t0) / 1000 for at in shown)
        before += sum(1 for at in shown if at <= done)
        c0 = time.monotonic()
        Emergency.objects.filter(pk=e.pk).update(state=Emergency.State.CANCELLED, cancelled_at=timezone.now())
        wait(
            lambda: all(p.evaluate("document.querySelector('#emergency').hidden") for p in pages),
            60,
            "cancel",
        )
        cancels.append(time.monotonic() - c0)
    return {
        "players": len(pages),
        "emergencies": count,
        "api_call_to_screen_s": {"n": len(screens), "p50": percentile(screens, 0.5),
                                 "p99": percentile(screens, 0.99), "max": round(max(screens), 3)},
        "api_call_to_speech_and_command_s": {"n": len(returned), "p50": percentile(returned, 0.5),
                                             "max": round(max(returned), 3)},
        "screens_before_speech_done": f"{before}/{len(screens)}",
        "cancel_until_all_screens_back_s": {"p50": percentile(cancels, 0.5), "max": round(max(cancels), 3)},
    }  # fmt: skip


def busy(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` processes spinning a CPU each: the machine under load while the emergencies run."""
    spin = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(n)]


def first_paint(browser: Any, base: str, board: dict[str, Any]) -> dict[str, float]:
    context, page = open_player(browser, base, board, throttle=4)
    try:
        page.goto(f"{base}/board/")
        wait(lambda: page.evaluate("window.loaBoard && window.loaBoard.firstSlideAt"), 60, "cold first slide")
        cold = page.evaluate("window.loaBoard.firstSlideAt") / 1000
        wait(lambda: page.evaluate("navigator.serviceWorker.controller !== null"), 30, "service worker")
        warm = []
        for _ in range(3):
            page.reload()
            wait(
                lambda: page.evaluate("window.loaBoard && window.loaBoard.firstSlideAt"),
                60,
                "warm first slide",
            )
            warm.append(page.evaluate("window.loaBoard.firstSlideAt") / 1000)
        return {
            "cold_s": round(cold, 3),
            "warm_s": round(statistics.median(warm), 3),
            "warm_max_s": round(max(warm), 3),
        }
    finally:
        context.close()


def memory(browser: Any, base: str, board: dict[str, Any], hours: float, slide_ms: int) -> dict[str, Any]:
    publish(board["device_id"], slide_ms / 1000)
    context, page = open_player(browser, base, board)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def sample() -> dict[str, float]:
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        shown = page.evaluate("window.loaBoard.queued")
        return {
            "slides": shown,
            "heap_mb": round(metrics["JSHeapUsedSize"] / 1e6, 2),
            "nodes": metrics["Nodes"],
        }

    try:
        page.goto(f"{base}/board/")
        # past the 500 entries the on-page log keeps, so the figure is not its filling up
        wait(lambda: page.evaluate("window.loaBoard && window.loaBoard.queued") >= 600, 300, "warm-up")
        start = sample()
        target = int(hours * 3600 / 8)  # slide changes of 8 s slides in the simulated hours
        t0 = time.monotonic()
        wait(
            lambda: page.evaluate("window.loaBoard.queued") >= target + start["slides"], 24 * 3600, "cycling"
        )
        end = sample()
        return {"simulated_hours": hours, "slide_ms": slide_ms, "seconds": round(time.monotonic() - t0, 1),
                "start": start, "end": end, "heap_growth_pct": round(100 * (end["heap_mb"] / start["heap_mb"] - 1), 1),
                "uploaded": page.evaluate("window.loaBoard.uploaded")}  # fmt: skip
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--emergencies", type=int, default=5)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--slide-ms", type=int, default=40)
    parser.add_argument("--skip", default="", help="comma-separated: emergency,paint,memory")
    parser.add_argument("--load", type=int, default=0, help="busy processes during the emergencies")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    data_dir = tempfile.mkdtemp(prefix="loa-bench-board-")
    os.environ.update({"LOA_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "loa.settings",
                       "DJANGO_ALLOW_ASYNC_UNSAFE": "true"})  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    w = world(args.players, approvers=args.emergencies)
    for board in w["boards"]:
        publish(board["device_id"], 8.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "loa.cli", "serve", "--no-worker", "--port", str(port)],
                              cwd=ROOT, env=os.environ.copy())  # fmt: skip
    result: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                              "load_avg": os.getloadavg()}  # fmt: skip
    try:
        import httpx
        from playwright.sync_api import sync_playwright

        from tests.browser import CHROMIUM_ARGS, chromium_path

        def up() -> bool:
            try:
                return httpx.get(f"{base}/board/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait(up, 600, "web server")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
            if "paint" not in skip:
                result["first_paint_4x_throttled"] = first_paint(browser, base, w["boards"][-1])
            if "emergency" not in skip:
                players = [open_player(browser, base, b) for b in w["boards"][: args.players]]
                for _context, page in players:
                    page.goto(f"{base}/board/", wait_until="commit", timeout=300_000)
                pages = [p for _c, p in players]
                wait(lambda: all(p.evaluate("window.loaBoard && window.loaBoard.firstSlideAt") for p in pages), 300,
                     "every player shows its manifest")  # fmt: skip
                wait(
                    lambda: all(p.evaluate("window.loaBoard.online") for p in pages), 120, "every stream open"
                )
                spinners = busy(args.load)
                try:
                    result["emergency"] = emergencies(pages, w, args.emergencies)
                    result["emergency"]["busy_processes"] = args.load
                    result["emergency"]["load_avg"] = os.getloadavg()
                finally:
                    for spinner in spinners:
                        spinner.kill()
                        spinner.wait()
                for context, _page in players:
                    context.close()
            if "memory" not in skip:
                result["memory"] = memory(browser, base, w["boards"][-2], args.hours, args.slide_ms)
            browser.close()
        result["load_avg_end"] = os.getloadavg()
        print(json.dumps(result, ensure_ascii=False))
    finally:
        server.terminate()
        server.wait(20)


if __name__ == "__main__":
    main()
