"""Web Push fan-out of one emergency to N subscriptions on the loopback push service (issue 10: 10,000 within 30 s).

    .venv/bin/python bench/push_fanout.py --subscriptions 10000

Runs in a fresh data folder (SQLite, migrated here). The push service (tests/push_service.py) runs in its own
process and speaks the real protocol: TLS, VAPID verified on every message, aes128gcm bodies. Each subscription has
its own P-256 key and auth secret, so every message is encrypted on its own, as in production. The fan-out is the
job an emergency queues (``loa.alerts.push.push_job``), called directly. Prints one JSON object: subscriptions,
delivered, seconds (job start → last answer), messages/s, the push service's own count. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ssl_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="loa-bench-push-")
    service = subprocess.Popen(
        [sys.executable, "-m", "tests.push_service"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert service.stdout is not None
        info = json.loads(service.stdout.readline())
        os.environ.update({
            "LOA_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "loa.settings",
            "LOA_PUSH_SERVICE_HOSTS": "127.0.0.1", "LOA_PUSH_CA_FILE": info["ca_file"],
            "LOA_PUSH_THREADS": str(args.threads),
        })  # fmt: skip
        result = run(args.subscriptions, info["origin"])
        result["push_service"] = httpx.get(
            f"{info['origin']}/stats", verify=ssl_context(info["ca_file"])
        ).json()
        result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if service.stdin:
            service.stdin.close()
        service.wait(10)


def run(n: int, origin: str) -> dict[str, object]:
    import django

    django.setup()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.core.management import call_command
    from django.utils import timezone

    from loa.alerts import keys
    from loa.alerts.models import EmergencyPush, PushSubscription, endpoint_hash
    from loa.alerts.push import push_job
    from loa.broadcast.models import Emergency
    from loa.jobs.models import Job
    from loa.units.models import Kind, Level, Unit

    call_command("migrate", verbosity=0)
    province = Unit.objects.create(code="22", name="Quảng Ninh", kind=Kind.TINH, level=Level.PROVINCE)
    communes = [
        Unit.objects.create(code=f"{6000 + i:05d}", name=f"Xã {i}", kind=Kind.XA, level=Level.COMMUNE, parent=province)
        for i in range(10)
    ]  # fmt: skip
    key_id = keys.current().id
    t = time.monotonic()
    rows = []
    for i in range(n):
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        endpoint = f"{origin}/push/{b64url(os.urandom(12))}"
        rows.append(PushSubscription(
            unit=communes[i % len(communes)], endpoint=endpoint, endpoint_hash=endpoint_hash(endpoint),
            p256dh=b64url(point), auth=b64url(os.urandom(16)), vapid_key_id=key_id,
        ))  # fmt: skip
    PushSubscription.objects.bulk_create(rows, batch_size=2000)
    setup_s = time.monotonic() - t
    e = Emergency.objects.create(
        unit=province, title="Bão số 3", text="Bão số 3 đổ bộ lúc 14 giờ: bà con ở trong nhà, tránh xa bờ biển.",
        item_id="em-bench", sha256="0" * 64, media_url="x", duration_s=5.0, requested_at=timezone.now(),
    )  # fmt: skip
    push = EmergencyPush.objects.create(emergency=e, unit=province)
    job = Job.objects.create(kind="alerts.push", func="loa.alerts.push.push_job")
    t = time.monotonic()
    out = push_job(job.pk, push.pk)
    seconds = time.monotonic() - t
    return {
        "subscriptions": n, "delivered": out["delivered"], "failed": out["failed"], "seconds": round(seconds, 2),
        "per_s": round(n / seconds, 1), "setup_s": round(setup_s, 1), "threads": int(os.environ["LOA_PUSH_THREADS"]),
    }  # fmt: skip


if __name__ == "__main__":
    main()
