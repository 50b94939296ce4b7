"""Fleet API: enrolment with one-time codes, registry scoping, commands with TOTP and the outbox rows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.audit.models import AuditEntry
from loa.fleet import broker, keys
from loa.fleet.models import Command, CommandDelivery, Device, EnrolmentCode
from loa_protocol.messages import Command as CommandMessage
from loa_protocol.messages import EnrolResponse
from loa_protocol.signing import verify_command
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]

ENROL = "/api/v1/fleet/enrol"


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _post(client: Client, url: str, body: dict[str, Any], token: str | None = None) -> Any:
    return client.post(
        url, json.dumps(body), content_type="application/json", **(_bearer(token) if token else {})
    )


def _device_body(code: str, **over: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "serial": "SN-0001",
        "imei": "356938035643809",
        "vendor": "Loa",
        "model": "LX1",
        "firmware": "1.0",
    }
    body.update(over)
    return body


@pytest.fixture
def technician(make_user: Any, tree: dict, token_for: Any) -> str:
    return token_for(make_user("tech", "technician", tree["a"]))


def _new_code(technician: str, unit: str = "06652.001") -> str:
    resp = _post(Client(), "/api/v1/fleet/enrolment-codes", {"unit": unit}, technician)
    assert resp.status_code == 201, resp.content
    return resp.json()["code"]


def test_enrolment_gives_credentials_once(
    technician: str, mqtt_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    resp = _post(
        Client(), "/api/v1/fleet/enrolment-codes", {"unit": "06652.001", "label": "Cột chợ"}, technician
    )
    body = resp.json()
    assert body["uri"].startswith("loa://enrol?server=") and body["qr_svg"].startswith("<svg")
    code = body["code"]
    assert EnrolmentCode.objects.filter(hint=code.replace("-", "")[-4:]).exists()
    assert not EnrolmentCode.objects.filter(code_hash=code).exists()  # only the hash is kept
    with django_capture_on_commit_callbacks(execute=True):
        resp = _post(Client(), ENROL, _device_body(code.lower().replace("-", " ")))
    assert resp.status_code == 200, resp.content
    enrolled = EnrolResponse.model_validate(resp.json())
    assert enrolled.unit_codes == ["22", "06652", "06652.001"]
    assert "loa/v1/g/22/06652/cmd" in enrolled.subscriptions
    assert enrolled.server_public_key == keys.public_key()
    device = Device.objects.get(device_id=enrolled.device_id)
    assert device.unit.code == "06652.001" and device.imei == "356938035643809"
    assert broker.check_password(enrolled.mqtt_password, device.credentials_hash)
    passwd = (mqtt_dir / "passwd").read_text()
    assert f"{device.device_id}:$7$" in passwd and enrolled.mqtt_password not in passwd
    assert AuditEntry.objects.filter(action="fleet.device_enrolled", object_id=str(device.pk)).exists()
    # the same code again is refused, clearly
    again = _post(Client(), ENROL, _device_body(code, serial="SN-0002", imei="356938035643810"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "enrolment_code_used"
    assert "đã được dùng" in again.json()["error"]["message"]


def test_expired_wrong_and_malformed_codes(technician: str, mqtt_dir: Path) -> None:
    code = _new_code(technician)
    EnrolmentCode.objects.update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    resp = _post(Client(), ENROL, _device_body(code))
    assert resp.status_code == 410 and resp.json()["error"]["code"] == "enrolment_code_expired"
    resp = _post(Client(), ENROL, _device_body("ABCD-EFGH-JKMN"))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "enrolment_code_invalid"
    resp = _post(Client(), ENROL, {"code": code})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"
    resp = Client().post(ENROL, "{not json", content_type="application/json")
    assert resp.status_code in (400, 422)
    assert Device.objects.count() == 0


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _blocked_in_another_process(address: str) -> bool:
    """Ask a separate Python process (its own memory and cache) whether ``address`` may still try."""
    import os
    import subprocess
    import sys

    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'loa.settings'); django.setup()\n"
        "from loa.fleet import services\n"
        "import sys\ntry:\n    services.check_enrol_attempts(sys.argv[1])\n"
        "except services.FleetError as e:\n    print(e.code)\nelse:\n    print('allowed')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, address],
        env=dict(os.environ, LOA_DATABASE_URL=_database_url()),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = out.stdout.strip().splitlines()[-1]
    assert answer in ("too_many_attempts", "allowed"), out
    return answer == "too_many_attempts"


def test_enrolment_attempts_are_rate_limited_across_processes(mqtt_dir: Path, transactional_db: None) -> None:
    from django.core.cache import cache

    from loa.fleet.models import AttemptCounter

    assert not _blocked_in_another_process("127.0.0.1")
    codes = [_post(Client(), ENROL, _device_body(f"WRONG-{i:04d}")).status_code for i in range(22)]
    assert codes[:20] == [400] * 20 and codes[20:] == [429, 429]
    # counted in the database (one shared allowance), each failure audited; refusals are not counted again
    assert sum(AttemptCounter.objects.values_list("count", flat=True)) == 20
    assert AuditEntry.objects.filter(action="fleet.enrolment_failed").count() == 20
    # another web process, with its own memory, refuses the same address; a fresh cache changes nothing
    assert _blocked_in_another_process("127.0.0.1")
    cache.clear()
    resp = _post(Client(), ENROL, _device_body("WRONG-9999"))
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "too_many_attempts"
    assert "thử lại sau 10 phút" in resp.json()["error"]["message"]
    # another address keeps its own allowance
    other = Client(REMOTE_ADDR="10.1.2.3")
    resp = other.post(ENROL, json.dumps(_device_body("WRONG-0000")), content_type="application/json")
    assert resp.status_code == 400
    assert not _blocked_in_another_process("10.1.2.3")


def test_only_managers_create_codes(make_user: Any, tree: dict, token_for: Any) -> None:
    operator = token_for(make_user("op", "commune_operator", tree["a"]))
    assert _post(Client(), "/api/v1/fleet/enrolment-codes", {"unit": "06652"}, operator).status_code == 403
    tech_b = token_for(make_user("techb", "technician", tree["b"]))
    assert _post(Client(), "/api/v1/fleet/enrolment-codes", {"unit": "06652"}, tech_b).status_code == 404
    tech = token_for(make_user("tech", "technician", tree["province"]))
    resp = _post(Client(), "/api/v1/fleet/enrolment-codes", {"unit": "22"}, tech)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "enrolment_unit_invalid"


def test_registry_is_scoped(make_user: Any, tree: dict, token_for: Any, mqtt_dir: Path) -> None:
    a = provision(tree["zone_a"], 2, write_files=False)
    provision(tree["b"], 3, write_files=False)
    viewer = token_for(make_user("v", "viewer", tree["a"]))
    body = Client().get("/api/v1/fleet/devices", **_bearer(viewer)).json()
    assert body["count"] == 2 and {d["device_id"] for d in body["items"]} == {c.device_id for c in a}
    other = Device.objects.filter(unit=tree["b"]).first()
    assert other is not None
    assert Client().get(f"/api/v1/fleet/devices/{other.device_id}", **_bearer(viewer)).status_code == 404
    resp = Client().patch(
        f"/api/v1/fleet/devices/{a[0].device_id}",
        json.dumps({"name": "x"}),
        content_type="application/json",
        **_bearer(viewer),
    )
    assert resp.status_code == 403
    tech = token_for(make_user("t", "technician", tree["a"]))
    resp = Client().patch(
        f"/api/v1/fleet/devices/{a[0].device_id}",
        json.dumps({"name": "Cụm loa chợ", "latitude": 20.95, "longitude": 107.1, "unit": "06652"}),
        content_type="application/json",
        **_bearer(tech),
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["unit"] == "06652" and resp.json()["name"] == "Cụm loa chợ"
    resp = Client().patch(
        f"/api/v1/fleet/devices/{a[0].device_id}",
        json.dumps({"unit": "06658"}),
        content_type="application/json",
        **_bearer(tech),
    )
    assert resp.status_code == 404


def _totp_now(user: Any) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key):06d}"


def test_commands_create_signed_outbox_rows(
    make_user: Any, tree: dict, token_for: Any, mqtt_dir: Path
) -> None:
    a = provision(tree["a"], 2, write_files=False)
    provision(tree["zone_a"], 1, write_files=False)
    provision(tree["b"], 2, write_files=False)
    user = make_user("op", "commune_operator", tree["a"])
    token = token_for(user)
    resp = _post(
        Client(),
        "/api/v1/fleet/commands",
        {"action": "volume", "unit": "06652", "params": {"volume": 40}},
        token,
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["topic"] == "loa/v1/g/22/06652/cmd" and body["seq"] == 1
    assert body["summary"] == {"pending": 3} and len(body["deliveries"]) == 3
    assert body["deliveries_total"] == 3
    ids = [d["device_id"] for d in body["deliveries"]]
    assert ids == sorted(ids)
    # one page of deliveries at a time: a province-wide command reaches thousands
    page = Client().get(f"/api/v1/fleet/commands/{body['id']}?offset=1&limit=1", **_bearer(token))
    assert page.status_code == 200
    assert (
        page.json()["deliveries_total"] == 3
        and [d["device_id"] for d in page.json()["deliveries"]] == ids[1:2]
    )
    clamped = Client().get(f"/api/v1/fleet/commands/{body['id']}?offset=-5&limit=0", **_bearer(token))
    assert [d["device_id"] for d in clamped.json()["deliveries"]] == ids[:1]
    command = Command.objects.get(pk=body["id"])
    message = CommandMessage.model_validate(command.message)
    verify_command(message, keys.public_key(), command.topic, message.issued_at, None)
    again = _post(Client(), "/api/v1/fleet/commands", {"action": "stop", "unit": "06652"}, token)
    assert again.json()["seq"] == 2
    one = _post(Client(), "/api/v1/fleet/commands", {"action": "pause", "device": a[0].device_id}, token)
    assert one.json()["topic"] == f"loa/v1/dev/{a[0].device_id}/cmd" and one.json()["seq"] == 1
    assert AuditEntry.objects.filter(action="fleet.command_sent").count() == 3
    # bad params get a clear message; commune B is out of scope
    bad = _post(
        Client(),
        "/api/v1/fleet/commands",
        {"action": "volume", "unit": "06652", "params": {"volume": 300}},
        token,
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "params_invalid"
    assert "không hợp lệ" in bad.json()["error"]["message"]
    assert (
        _post(Client(), "/api/v1/fleet/commands", {"action": "stop", "unit": "06658"}, token).status_code
        == 404
    )
    assert CommandDelivery.objects.count() == 3 + 3 + 1


def test_totp_for_reboot_and_multi_commune(
    make_user: Any, tree: dict, token_for: Any, client_for: Any, mqtt_dir: Path
) -> None:
    provision(tree["a"], 1, write_files=False)
    provision(tree["b"], 1, write_files=False)
    admin = make_user("pa", "province_admin", tree["province"])
    client_for(admin)  # gives the admin a confirmed TOTP device
    token = token_for(admin)
    url = "/api/v1/fleet/commands"
    resp = _post(Client(), url, {"action": "stop", "unit": "22"}, token)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "totp_required"
    resp = _post(Client(), url, {"action": "stop", "unit": "22", "totp": "000000"}, token)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "totp_invalid"
    resp = _post(Client(), url, {"action": "reboot", "unit": "06652"}, token)
    assert resp.json()["error"]["code"] == "totp_required"
    assert _post(Client(), url, {"action": "stop", "unit": "06652"}, token).status_code == 201  # one commune
    TOTPDevice.objects.get(user=admin).throttle_reset()  # django_otp throttles after the wrong code above
    resp = _post(Client(), url, {"action": "stop", "unit": "22", "totp": _totp_now(admin)}, token)
    assert resp.status_code == 201, resp.content
    assert resp.json()["summary"] == {"pending": 2}


def test_enrolment_throttle_is_per_client_behind_the_proxy_and_per_code(
    technician: str, mqtt_dir: Path, settings: Any
) -> None:
    """Issue 20, item 9: behind nginx every request comes from 127.0.0.1, so counting by that address let one
    guesser block every device; with LOA_TRUSTED_PROXIES the address is the device's own. A known code that keeps
    failing is closed on its own, with a message that says so."""
    settings.LOA_TRUSTED_PROXIES = 1
    nginx = {"REMOTE_ADDR": "127.0.0.1"}
    guesser = Client(HTTP_X_FORWARDED_FOR="198.51.100.7", **nginx)
    codes = [_post(guesser, ENROL, _device_body(f"WRONG-{i:04d}")).status_code for i in range(21)]
    assert codes[:20] == [400] * 20 and codes[20] == 429
    refused = _post(guesser, ENROL, _device_body("WRONG-9999")).json()["error"]
    assert refused["code"] == "too_many_attempts" and "198.51.100.7" in refused["message"]
    assert "thiết bị ở mạng khác không bị ảnh hưởng" in refused["message"]

    # a technician's device on another network enrols with its valid code at once
    valid = _new_code(technician)
    installer = Client(HTTP_X_FORWARDED_FOR="203.0.113.20", **nginx)
    assert _post(installer, ENROL, _device_body(valid)).status_code == 200

    # the used code, tried again and again from many addresses, is closed after 5 failures
    for i in range(5):
        again = Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{i + 1}", **nginx)
        assert _post(again, ENROL, _device_body(valid, serial=f"SN-{i}")).status_code == 409
    closed = _post(Client(HTTP_X_FORWARDED_FOR="192.0.2.99", **nginx), ENROL, _device_body(valid)).json()
    assert closed["error"]["code"] == "too_many_attempts" and "Mã đăng ký này" in closed["error"]["message"]
