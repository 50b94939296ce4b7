"""Console pages with a province of 3,000 loudspeaker clusters: p50/p95 per page (DESIGN §8: p95 ≤ 200 ms).

Run: LOA_DATA_DIR=$(mktemp -d) [LOA_DATABASE_URL=postgres://…] .venv/bin/python bench/console_pages.py
     [--devices 3000] [--requests 40]

In-process through Django's full stack (middleware, sessions, access checks, templates, the real database), signed
in as a province admin with a verified second factor; every device has a status and a position; a tenth are
offline. Prints JSON.
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
        "audit log": "/audit/",
        "API: devices": "/api/v1/fleet/devices",
    }
    results = {}
    for name, url in pages.items():
        status = client.get(url).status_code  # warm-up (template and query caches)
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
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
