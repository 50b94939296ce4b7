"""The citizens' public app under load (issue 10): the feed page and the feed API of one commune, 200 concurrent
clients from a second process on loopback; and the app's first-load bytes (DESIGN §8 style budget: ≥ 500 req/s,
p95 ≤ 200 ms; first load ≤ 150 KB of compressed JS + CSS).

Run: LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/citizen_feed.py [--clients 200] [--seconds 15] [--workers 2]

Seeds a throw-away data directory: the whole unit catalogue (34 provinces, 3,321 communes), 30 published
bulletins of Quảng Ninh and of Phường Hà Tu (and drafts, which must not show), a province emergency bulletin, a
schedule of an approved programme reaching the commune, 300 clusters with positions. Then starts the production
web server (`uvicorn loa.asgi:application --workers N`, static files collected and compressed as `loa serve` does)
and, in a second process, an httpx async client with ``--clients`` concurrent connections asking the same URL in a
loop for ``--seconds`` after a warm-up. Each client is a phone that has no copy yet (no If-None-Match); a last run
measures phones that revalidate (If-None-Match → 304). Prints JSON: requests/s, p50/p95/p99, errors; first-load
bytes as served (gzip for the static files, as WhiteNoise answers a browser).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
ROOT = Path(__file__).resolve().parent.parent

LOAD = r"""
import asyncio, json, sys, time
import httpx

async def main(url, clients, seconds, etag):
    latencies, errors, statuses = [], 0, {}
    headers = {"Accept-Encoding": "gzip", "Accept-Language": "vi"}
    if etag:
        headers["If-None-Match"] = etag
    # one client (one keep-alive connection) per phone: a single pool of 200 connections costs httpcore ~5 ms of
    # CPU per request in pool bookkeeping, which would measure the load generator instead of the server
    phones = [httpx.AsyncClient(limits=httpx.Limits(max_connections=1), timeout=30, headers=headers)
              for _ in range(clients)]
    if True:
        stop = time.monotonic() + seconds
        async def one(client):
            nonlocal errors
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    r = await client.get(url)
                    await r.aread()
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code not in (200, 304):
                        errors += 1
                except Exception:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t)
        start = time.monotonic()
        await asyncio.gather(*(one(phone) for phone in phones))
        elapsed = time.monotonic() - start
        await asyncio.gather(*(phone.aclose() for phone in phones))
    latencies.sort()
    q = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None
    print(json.dumps({"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": q(0.50),
                      "p95_ms": q(0.95), "p99_ms": q(0.99), "errors": errors, "statuses": statuses,
                      "client_cpu_s": round(time.process_time(), 2)}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else ""))
"""


# The same loop with aiohttp's client (C HTTP parser): about a third of httpx's CPU per request, so that on 2 shared
# cores the server, not the load generator, is what is measured (``--client aiohttp``).
LOAD_AIOHTTP = r"""
import asyncio, json, sys, time
import aiohttp

async def main(url, clients, seconds, etag):
    latencies, errors, statuses = [], 0, {}
    headers = {"Accept-Encoding": "gzip", "Accept-Language": "vi"}
    if etag:
        headers["If-None-Match"] = etag
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:
        stop = time.monotonic() + seconds
        async def one():
            nonlocal errors
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    async with client.get(url) as r:
                        await r.read()
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                        if r.status not in (200, 304):
                            errors += 1
                except Exception:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t)
        start = time.monotonic()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.monotonic() - start
    latencies.sort()
    q = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else None
    print(json.dumps({"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": q(0.50),
                      "p95_ms": q(0.95), "p99_ms": q(0.99), "errors": errors, "statuses": statuses,
                      "client_cpu_s": round(time.process_time(), 2)}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else ""))
"""


def seed() -> dict[str, Any]:
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from loa.accounts.models import User
    from loa.broadcast.models import ItemKind, Programme, ProgrammeItem, Schedule
    from loa.content.models import Bulletin, State
    from loa.fleet.models import Device
    from loa.units.catalogue import do_import_units
    from loa.units.models import Level, Unit
    from loa_protocol.topics import new_device_id

    call_command("migrate", verbosity=0)
    if not Unit.objects.exists():
        do_import_units()
    province = Unit.objects.get(code="22", level=Level.PROVINCE)
    commune = Unit.objects.filter(parent=province, level=Level.COMMUNE, name__icontains="Hà Tu").first() or (
        Unit.objects.filter(parent=province, level=Level.COMMUNE).order_by("code").first()
    )
    assert commune is not None
    user, _ = User.objects.get_or_create(username="bench.editor", defaults={"full_name": "Biên tập viên"})
    now = timezone.now()
    if not Bulletin.objects.exists():
        body = (
            "Ủy ban nhân dân phường thông báo lịch tiêm phòng, lịch cắt điện và các việc cần làm trong tuần. "
            * 8
        )
        for i in range(30):
            origin = commune if i % 2 else province
            state = State.PUBLISHED if i < 24 else State.DRAFT
            b = Bulletin.objects.create(
                title=f"Thông báo số {i + 1} của {origin.name}", summary=body[:200], body=body, produced_at=now,
                origin_unit=origin, state=state, published_at=now - dt.timedelta(hours=i) if state == State.PUBLISHED else None,
                priority=1 if i == 0 else 3, valid_until=now + dt.timedelta(days=7),
                created_by=user, updated_by=user, author_email="bientap@example.vn",
            )  # fmt: skip
            b.receivers.set([origin])
        programme = Programme.objects.create(
            unit=commune, title="Chương trình sáng", state=Programme.State.APPROVED
        )
        for pos in range(3):
            ProgrammeItem.objects.create(programme=programme, position=pos, kind=ItemKind.AUDIO,
                                         title=f"Tin buổi sáng {pos + 1}", sha256="a" * 64,
                                         media_url="/media/files/x.mp3", duration_s=300.0)  # fmt: skip
        s = Schedule.objects.create(unit=commune, programme=programme, title="Buổi sáng", kind="daily",
                                    times=["06:00", "17:00"])  # fmt: skip
        s.target_units.set([commune])
        Device.objects.bulk_create(
            [Device(device_id=new_device_id(), unit=commune, serial=f"B-{i}", latitude=20.95 + i / 10000,
                    longitude=107.07 + i / 10000) for i in range(300)]
        )  # fmt: skip
    call_command("collectstatic", interactive=False, verbosity=0)
    return {"commune": commune.code, "name": commune.name}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants (the uvicorn master and its workers)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        p = int(stat.parent.name)
        parents[p] = int(fields[1])
        times[p] = (int(fields[11]) + int(fields[12])) / tick
    family, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in family} - family
        grew = bool(more)
        family |= more
    return sum(times.get(p, 0.0) for p in family)


def measure(
    url: str, clients: int, seconds: float, server_pid: int, etag: str = "", client: str = "httpx"
) -> dict[str, Any]:
    """One load run from a second process; adds the server's and the client's CPU per request."""
    before = tree_cpu_s(server_pid)
    script = LOAD_AIOHTTP if client == "aiohttp" else LOAD
    run = subprocess.run(
        [sys.executable, "-c", script, url, str(clients), str(seconds), etag],
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, Any] = json.loads(run.stdout)
    server = tree_cpu_s(server_pid) - before
    n = max(1, out["requests"])
    out["server_cpu_ms_per_request"] = round(server / n * 1000, 2)
    out["client_cpu_ms_per_request"] = round(out.pop("client_cpu_s") / n * 1000, 2)
    # what 2 otherwise idle cores could answer with this server and this client sharing them
    out["rps_if_2_cores_were_free"] = round(
        2000 / (out["server_cpu_ms_per_request"] + out["client_cpu_ms_per_request"])
    )
    return out


def first_load(base: str) -> dict[str, Any]:
    """The bytes of the app's first load as served: the home page, its stylesheet and script (gzip), the manifest
    and the service worker."""
    import re

    import httpx

    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as c:
        home = c.get("/congdan/")
        out["html"] = home.num_bytes_downloaded
        assets = re.findall(r'(?:href|src)="(/static/citizen/[^"]+\.(?:css|js))"', home.text)
        total = 0
        for path in assets:
            r = c.get(path)
            out[path] = {"bytes": r.num_bytes_downloaded, "encoding": r.headers.get("content-encoding", "identity"),
                         "raw": len(r.content)}  # fmt: skip
            total += r.num_bytes_downloaded
        out["js_css_compressed"] = total
        for path in ("/congdan/manifest.webmanifest", "/congdan/sw.js"):
            out[path] = c.get(path).num_bytes_downloaded
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--client", choices=["httpx", "aiohttp"], default="httpx", help="the load generator's client"
    )
    args = parser.parse_args()
    info = seed()
    from loa_protocol.ports import release_port, reserve_port

    port = reserve_port()
    env = {**os.environ, "LOA_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "loa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--lifespan", "off", "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPU",
        "python": platform.python_version(),
        "load_before": os.getloadavg(),
        "clients": args.clients,
        "seconds": args.seconds,
        "workers": args.workers,
        "client": args.client,
        "commune": info,
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
        urls = {
            "feed page": f"{base}/congdan/xa/{info['commune']}/",
            "feed API": f"{base}/api/v1/public/communes/{info['commune']}/feed",
        }
        results["first_load"] = first_load(base)
        for name, url in urls.items():
            for _ in range(2 * args.workers):  # every worker has computed the feed once
                httpx.get(url, timeout=10)
            results[name] = measure(url, args.clients, args.seconds, web.pid, client=args.client)
            etag = httpx.get(url, timeout=10).headers.get("etag", "")
            results[f"{name}, revalidated (304)"] = measure(
                url, args.clients, args.seconds / 2, web.pid, etag, client=args.client
            )
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
