"""Console pages with a province of 3,000 loudspeaker clusters: p50/p95 per page (DESIGN §8: p95 ≤ 200 ms).

Run: LOA_DATA_DIR=$(mktemp -d) [LOA_DATABASE_URL=postgres://…] .venv/bin/python bench/console_pages.py
     [--devices 3000] [--requests 40] [--every-page]

``--every-page`` adds every other console page a GET opens (the URL configuration walked as the permission matrix
walks it, parameters filled with the bench province's objects).

In-process through Django's full stack (middleware, sessions, access checks, templates, the real database), signed
in as a province admin with a verified second factor; every device has a status and a position; a tenth are
offline. Today's plays (``seed_plays``): a province schedule at 06:00, 11:00 and 17:00 compiled into every
device's manifest, a province-wide emergency, and a priority bulletin played by itself in every commune, with the
play logs and acks of every cluster — so the plan, the proof of play (per slot, the expanded slot and the CSV) and
the dashboard are measured with real volumes. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--province", default="22")
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this text")
    parser.add_argument("--every-page", action="store_true", help="also every other console page a GET opens")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from loa.accounts.models import RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.fleet.models import Device
    from loa.units.catalogue import do_import_units
    from loa.units.models import Level, Unit

    call_command("migrate", verbosity=0)
    do_import_units()
    province = Unit.objects.get(code=args.province, level=Level.PROVINCE)
    communes = list(province.children.filter(level=Level.COMMUNE).order_by("code"))
    rng = random.Random(7)
    now = timezone.now()
    if Device.objects.filter(unit__path__startswith=province.path).count() < args.devices:
        batch = []
        for i in range(args.devices):
            unit = communes[i % len(communes)]
            online = i % 10 != 0
            batch.append(
                Device(
                    device_id=f"loa-{i:012x}",
                    unit=unit,
                    name=f"Cụm loa {i}",
                    serial=f"B-{i}",
                    vendor="Loa",
                    model="bench",
                    firmware="1.0",
                    enrolled_at=now,
                    online=online,
                    last_seen=now if online else now - timedelta(hours=3),
                    latitude=20.9 + rng.random() * 0.6,
                    longitude=106.8 + rng.random() * 0.9,
                    last_status={"volume": 70, "state": "idle", "link": "4g", "signal_dbm": -80 - i % 30},
                )
            )
        Device.objects.bulk_create(batch, batch_size=1000)
    user, _ = User.objects.get_or_create(username="bench.admin", defaults={"full_name": "Bench"})
    RoleAssignment.objects.get_or_create(user=user, role=Role.PROVINCE_ADMIN, unit=province)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session["loa_unit"] = province.code
    session.save()

    slot_key = seed_plays(province, communes)
    pages = {
        "dashboard": "/",
        "units": "/units/",
        "commune": f"/units/{communes[0].code}/",
        "loudspeakers (list)": "/fleet/",
        "loudspeakers (offline filter)": "/fleet/?state=offline",
        "map data (JSON, all clusters)": "/fleet/map.json",
        "device page": f"/fleet/d/{Device.objects.filter(unit=communes[0]).first().device_id}/",
        "bulletins": "/bulletins/",
        "schedules (24 h preview)": "/broadcast/",
        "plan (today and 24 h ahead)": "/broadcast/plan/",
        "proof of play (today, per slot)": "/broadcast/proof/",
        "proof of play: one slot's clusters (htmx)": f"/broadcast/proof/slot/?key={slot_key}",
        "proof of play CSV (one row per cluster per slot)": "/broadcast/proof/?format=csv",
        "audit log": "/audit/",
        "API: devices": "/api/v1/fleet/devices",
    }
    results = {}
    # the same admin with a commune chosen in the console (what a commune officer's pages cost)
    commune_client = Client()
    commune_client.force_login(user)
    commune_session = commune_client.session
    commune_session["otp_device_id"] = device.persistent_id
    commune_session["loa_unit"] = communes[0].code
    commune_session.save()
    clients = dict.fromkeys(pages, client)
    for name, url in {
        "commune: dashboard with today's plays": "/",
        "commune: schedules with today's plays": "/broadcast/",
        "commune: plan (today and 24 h ahead)": "/broadcast/plan/",
        "commune: proof of play (today, per slot)": "/broadcast/proof/",
        "commune: proof of play CSV": "/broadcast/proof/?format=csv",
    }.items():
        pages[name] = url
        clients[name] = commune_client
    if args.every_page:
        # every other console page a GET opens (URL patterns walked as the permission matrix does), with the
        # objects of the bench province; POST-only routes answer 405 and are left out, as are pages needing an
        # object the bench has not made (listed under "not measured")
        measured = set(pages.values())
        for url, name in every_console_page(province, communes, user).items():
            if url not in measured:
                pages[name] = url
                clients[name] = commune_client if "/broadcast/limits/" in url else client
    for name, url in pages.items():
        if args.only and args.only not in name:
            continue
        client = clients[name]
        client.raise_request_exception = False  # a page under construction elsewhere is reported, not fatal
        status = client.get(url).status_code  # warm-up (template and query caches)
        if status != 200 and name.startswith("every page:"):
            NOT_MEASURED.append(f"{name[len('every page: ') :]} ({status})")
            continue
        timings = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            status = response.status_code
        timings.sort()
        results[name] = {
            "url": url,
            "status": status,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
            "max_ms": round(timings[-1], 1),
        }
    from django.db import connection

    out = {
        "devices": Device.objects.filter(unit__path__startswith=province.path).count(),
        "communes": len(communes),
        "database": connection.vendor,
        "requests_per_page": args.requests,
        "budget_p95_ms": 200,
        "pages": results,
        "worst_p95_ms": max(r["p95_ms"] for r in results.values()),
        "not_measured": NOT_MEASURED,
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()


NOT_MEASURED: list[str] = []


def every_console_page(province: object, communes: list, user: object) -> dict[str, str]:  # type: ignore[type-arg]
    """URL → name of every console page (not the API, admin or static files), its parameters filled with objects
    of the bench province."""
    import re

    from django.urls import URLPattern, URLResolver, get_resolver, reverse
    from django.utils import timezone

    from loa.broadcast.models import Emergency, Programme, Schedule
    from loa.content.models import Bulletin, FeedItem, State
    from loa.fleet.models import Command, Device, EnrolmentCode
    from loa.media.models import MediaAsset

    commune = communes[0]
    now = timezone.now()
    bulletin = Bulletin.objects.filter(origin_unit=province, title="Bench: thông báo").first()
    if bulletin is None:
        bulletin = Bulletin.objects.create(title="Bench: thông báo", body="Thông báo của tỉnh.", origin_unit=province,
                                           produced_at=now, published_at=now, state=State.PUBLISHED,
                                           created_by=user, updated_by=user)  # fmt: skip
        FeedItem.objects.create(bulletin=bulletin, unit=commune)
    values = {
        "code": commune.code,
        "unit_code": commune.code,
        "user_id": getattr(user, "pk", None),
        "bulletin_id": bulletin.pk,
        "item_id": bulletin.feed_items.first().pk,  # type: ignore[union-attr]
        "device_id": Device.objects.filter(unit=commune).values_list("device_id", flat=True).first(),
        "schedule_id": Schedule.objects.values_list("pk", flat=True).first(),
        "programme_id": Programme.objects.values_list("pk", flat=True).first(),
        "emergency_id": Emergency.objects.values_list("pk", flat=True).first(),
        "command_id": Command.objects.values_list("pk", flat=True).first(),
        "code_id": EnrolmentCode.objects.values_list("pk", flat=True).first(),
        "asset_id": MediaAsset.objects.values_list("pk", flat=True).first(),
        "slug": "bulletins",
    }

    def walk(patterns: list, prefix: str = "", ns: str = "") -> list[tuple[str, str, list[str]]]:  # type: ignore[type-arg]
        out = []
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
                out += walk(p.url_patterns, prefix + str(p.pattern), inner)
            elif isinstance(p, URLPattern) and p.name:
                route = prefix + str(p.pattern)
                out.append(
                    (route, f"{ns}:{p.name}" if ns else p.name, re.findall(r"<(?:\w+:)?(\w+)>", route))
                )
        return out

    pages = {}
    skip = {"accounts:logout", "set_language", "media:file", "accounts:login"}
    for route, name, params in walk(get_resolver().url_patterns):
        if route.startswith(("api/", "admin/", "static/")) or name in skip:
            continue
        if any(values.get(p) is None for p in params):
            NOT_MEASURED.append(name)
            continue
        pages[reverse(name, kwargs={p: values[p] for p in params})] = f"every page: {name}"
    return pages


def seed_plays(province: object, communes: list) -> str:  # type: ignore[type-arg]
    """Today's plays of every kind on every cluster of the province, once; answers the 06:00 slot's key."""
    import datetime as dt
    import hashlib
    import uuid

    from django.utils import timezone

    from loa.broadcast.compile import compile_manifests
    from loa.broadcast.models import Emergency, ItemKind, Programme, ProgrammeItem, Schedule
    from loa.broadcast.recurrence import LOCAL_TZ, local_to_utc
    from loa.fleet.models import Command, CommandDelivery, Device, PlayLog
    from loa.units.models import Level, Unit

    today = timezone.now().astimezone(LOCAL_TZ).date()
    devices = list(
        Device.objects.filter(unit__path__startswith=province.path).values_list("device_id", "unit_id")
    )  # type: ignore[attr-defined]
    schedule = Schedule.objects.filter(unit=province, title="Bench: bản tin hằng ngày").first()
    if schedule is None:
        programme = Programme.objects.create(
            unit=province, title="Bản tin hằng ngày", state=Programme.State.APPROVED
        )
        sha = hashlib.sha256(b"bench-daily").hexdigest()
        ProgrammeItem.objects.create(programme=programme, position=0, kind=ItemKind.AUDIO, title="Bản tin hằng ngày",
                                     sha256=sha, media_url=f"https://loa.example.vn/media/files/{sha}.mp3",
                                     duration_s=600.0)  # fmt: skip
        schedule = Schedule.objects.create(unit=province, programme=programme, title="Bench: bản tin hằng ngày",
                                           kind="daily", times=["06:00", "11:00", "17:00"])  # fmt: skip
        schedule.target_units.set([province])
    midnight = local_to_utc(today, dt.time(0, 0))
    compile_manifests(midnight - dt.timedelta(hours=1))
    item = f"pi-{schedule.programme.items.get().pk}"  # type: ignore[attr-defined]
    if PlayLog.objects.filter(schedule_id=str(schedule.pk), at__gte=midnight).exists():
        return f"s{schedule.pk}-{local_to_utc(today, dt.time(6, 0)).astimezone(dt.UTC):%Y%m%dT%H%M%S}Z-0"
    logs = []
    for hh in (6, 11, 17):
        at = local_to_utc(today, dt.time(hh, 0))
        entry = f"s{schedule.pk}-{at.astimezone(dt.UTC):%Y%m%dT%H%M%S}Z-0"
        for i, (device_id, unit_id) in enumerate(devices):
            if i % 10 == 0:
                continue  # a tenth are offline: missed
            common = {"device_id": device_id, "unit_id": unit_id, "item_id": item, "priority": 4,
                      "schedule_id": str(schedule.pk), "manifest_entry_id": entry, "received_at": at}  # fmt: skip
            logs.append(
                PlayLog(event_id=uuid.uuid4(), kind="start", at=at, offset_s=0, duration_s=600, **common)
            )
            logs.append(PlayLog(event_id=uuid.uuid4(), kind="end", at=at + dt.timedelta(minutes=10), offset_s=600,
                                duration_s=600 if i % 7 else 200, **common))  # fmt: skip
    now = timezone.now()
    sha = hashlib.sha256(b"bench-command").hexdigest()
    unit_of = dict(devices)
    by_unit: dict[int, list[str]] = {}
    zones = dict(
        Unit.objects.filter(path__startswith=province.path, level=Level.ZONE).values_list("pk", "parent_id")
    )  # type: ignore[attr-defined]
    for device_id, unit_id in devices:
        by_unit.setdefault(zones.get(unit_id, unit_id), []).append(device_id)
    targets = [(province, [d for d, _u in devices], 1)] + [(c, by_unit.get(c.pk, []), 3) for c in communes]
    for n, (unit, ids, priority) in enumerate(targets):
        if not ids:
            continue
        cid = uuid.uuid4()
        item_id = f"em-bench{n}" if priority == 1 else "bt-bench"
        params = {
            "item_id": item_id,
            "sha256": sha,
            "media_url": "x",
            "duration_s": 30.0,
            "priority": priority,
        }
        Command.objects.create(id=cid, action="play", params=params, topic=f"bench/{n}", seq=1, unit=unit,
                               target_unit=unit, issued_at=now, expires_at=now + dt.timedelta(hours=1), message={},
                               state="published")  # fmt: skip
        if priority == 1:
            Emergency.objects.create(unit=unit, title="Cảnh báo bão số 9", item_id=item_id, sha256=sha, media_url="x",
                                     duration_s=30.0, repeat=1, command_id=cid, requested_at=now)  # fmt: skip
        CommandDelivery.objects.bulk_create(
            [CommandDelivery(command_id=cid, device_id=d, state="done") for d in ids], batch_size=1000
        )
        for device_id in ids:
            common = {"device_id": device_id, "unit_id": unit_of[device_id], "item_id": item_id, "priority": priority, "command_id": cid, "received_at": now}  # fmt: skip
            logs.append(
                PlayLog(event_id=uuid.uuid4(), kind="start", at=now, offset_s=0, duration_s=30, **common)
            )
            logs.append(
                PlayLog(event_id=uuid.uuid4(), kind="end", at=now, offset_s=30, duration_s=30, **common)
            )
    PlayLog.objects.bulk_create(logs, batch_size=2000)
    return f"s{schedule.pk}-{local_to_utc(today, dt.time(6, 0)).astimezone(dt.UTC):%Y%m%dT%H%M%S}Z-0"


if __name__ == "__main__":
    main()
