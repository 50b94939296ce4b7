"""Lighthouse audit of the citizens' public app (issue 10: "PWA installable; accessibility and best practices ≥ 90";
first load ≤ 150 KB of compressed JS + CSS).

Run: LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/citizen_lighthouse.py [--runs 1] [--pages home,feed,…]

Lighthouse is the npm package pinned in package.json's devDependencies (11.7.1: the last release with the PWA
category; installed by `npm ci` in `make setup`, nothing is downloaded here) and drives Debian's Chromium
(``CHROME_PATH=/usr/bin/chromium``, headless). The data directory is seeded by ``bench/citizen_feed.py``'s seed (the
unit catalogue, published bulletins of Quảng Ninh and Phường Hà Tu, a schedule, clusters) ; the server
is the production one (uvicorn, static files collected and compressed). Each page is audited on a phone (Moto G
Power emulation, 412×823, mobile user agent) under simulated **3G**: 300 ms round trip, 700 kbit/s, CPU slowed 4×
(Lighthouse's "regular 3G" preset), categories performance, accessibility, best practices and PWA.
Prints JSON: per page the four scores (0–100, the median over ``--runs``), first contentful paint, largest
contentful paint, total blocking time, the compressed bytes of JS and CSS that crossed the network on that first
load, and every failed accessibility or best-practices audit by id.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "pwa")
THREE_G = [
    "--form-factor=mobile",
    "--screenEmulation.mobile",
    "--throttling-method=simulate",
    "--throttling.rttMs=300",
    "--throttling.throughputKbps=700",
    "--throttling.cpuSlowdownMultiplier=4",
]
BUDGET_JS_CSS = 150 * 1024


def _seed() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("citizen_feed", ROOT / "bench" / "citizen_feed.py")
    assert spec and spec.loader
    feed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(feed)
    info: dict[str, Any] = feed.seed()
    from loa.content.models import Bulletin, State

    bulletin = (
        Bulletin.objects.filter(state=State.PUBLISHED, origin_unit__code=info["commune"])
        .order_by("-published_at")
        .first()
    )
    info["bulletin"] = bulletin.pk if bulletin else None
    info["tracking"] = _answered_feedback(info["commune"])
    return info


def _answered_feedback(commune: str) -> str:
    """A citizen's feedback answered and published; returns its tracking token (the tracking page is audited)."""
    from loa.citizen import feedback_workflow as wf
    from loa.citizen.models import Status
    from loa.units.models import Unit

    draft = wf.Draft(
        unit_code=commune, category_code="moi-truong", consent=True, address="Đầu ngõ 12, tổ dân phố 1",
        text=f"Rác thải đổ trộm ở đầu ngõ 12 chưa được thu gom (lần đo {time.time():.0f}).",
    )  # fmt: skip
    feedback, token = wf.do_submit(draft, client_address=f"10.9.{int(time.time()) % 250}.1")
    unit = Unit.objects.get(code=commune)
    answer = "Tổ vệ sinh môi trường đã thu gom toàn bộ rác ở đầu ngõ 12 sáng nay và đặt biển cấm đổ rác."
    for to, extra in ((Status.ASSIGNED, {"unit": unit}), (Status.ANSWERED, {"answer": answer}),
                      (Status.PUBLISHED, {})):  # fmt: skip
        feedback = wf.do_feedback_transition(feedback, to, actor=None, **extra)  # type: ignore[arg-type]
    return token


def _pages(info: dict[str, Any]) -> dict[str, str]:
    code = info["commune"]
    pages = {
        "home": "/congdan/",
        "feed": f"/congdan/xa/{code}/",
        "feedback form": f"/congdan/phan-anh/?xa={code}",
        "answers": f"/congdan/phan-anh/tra-loi/?xa={code}",
        "polls": f"/congdan/tham-do/?xa={code}",
    }
    if info.get("bulletin"):
        pages["bulletin"] = f"/congdan/ban-tin/{info['bulletin']}/"
    pages["tracking"] = f"/congdan/phan-anh/theo-doi/{info['tracking']}/"
    return pages


def audit(url: str, out_dir: Path) -> dict[str, Any]:
    """One Lighthouse run of ``url``: scores, timings, first-load JS/CSS bytes and failed audits."""
    report = out_dir / "report.json"
    cmd = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
        "--only-categories=" + ",".join(CATEGORIES), *THREE_G, "--locale=vi",
        "--chrome-flags=--headless=new --no-sandbox --disable-dev-shm-usage --no-first-run",
    ]  # fmt: skip
    env = {**os.environ, "CHROME_PATH": CHROME}
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not report.exists():
        raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-3000:]}")
    lhr = json.loads(report.read_text())
    report.unlink()
    scores = {c: round(100 * (lhr["categories"][c]["score"] or 0)) for c in CATEGORIES}
    audits = lhr["audits"]
    js_css = 0
    for item in audits["network-requests"]["details"]["items"]:
        if item.get("resourceType") in ("Script", "Stylesheet"):
            js_css += int(item.get("transferSize") or 0)
    failed: dict[str, list[str]] = {}
    for cat in ("accessibility", "best-practices", "pwa"):
        for ref in lhr["categories"][cat]["auditRefs"]:
            a = audits[ref["id"]]
            if ref.get("weight", 0) > 0 and a.get("score") is not None and a["score"] < 1:
                failed.setdefault(cat, []).append(ref["id"])
    return {
        "scores": scores,
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "js_css_bytes": js_css,
        "total_bytes": int(audits["total-byte-weight"]["numericValue"]),
        "installable": audits.get("installable-manifest", {}).get("score") == 1,
        "failed": failed,
        "seconds": round(time.monotonic() - started, 1),
        "lighthouse": lhr["lighthouseVersion"],
        "chrome": lhr["environment"]["hostUserAgent"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Thiếu Lighthouse: chạy `npm ci` (make setup) trước.")
    info = _seed()
    from loa_protocol.ports import release_port, reserve_port

    port = reserve_port()
    env = {**os.environ, "LOA_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "loa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--lifespan", "off", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = (
        f"http://127.0.0.1:{port}"  # loopback is a secure context: the service worker and the manifest work
    )
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPU",
        "load_before": os.getloadavg(),
        "throttling": "simulated 3G: 300 ms RTT, 700 kbit/s, CPU ×4; Moto G Power emulation",
        "runs": args.runs,
        "budget_js_css_bytes": BUDGET_JS_CSS,
        "pages": {},
    }
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/congdan/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the web server did not start")
            time.sleep(0.3)
        wanted = {p.strip() for p in args.pages.split(",") if p.strip()}
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in _pages(info).items():
                if wanted and name not in wanted:
                    continue
                httpx.get(base + path, timeout=10)  # the server has made the page once
                runs = [audit(base + path, Path(tmp)) for _ in range(args.runs)]
                page = runs[len(runs) // 2] if args.runs > 1 else runs[0]
                if args.runs > 1:
                    page["scores"] = {c: statistics.median(r["scores"][c] for r in runs) for c in CATEGORIES}
                page["path"] = path
                page["within_budget"] = page["js_css_bytes"] <= BUDGET_JS_CSS
                results["pages"][name] = page
                print(f"{name:14} {path:40} " + " ".join(f"{c}={page['scores'][c]}" for c in CATEGORIES)
                      + f" js+css={page['js_css_bytes']} B", file=sys.stderr)  # fmt: skip
        results["load_after"] = os.getloadavg()
    finally:
        web.terminate()
        try:
            web.wait(15)
        except subprocess.TimeoutExpired:
            web.kill()
        release_port(port)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
