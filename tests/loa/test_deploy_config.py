"""The shipped nginx configuration keeps the rules docs/security.md relies on (read from the file the operator
installs; its media cache also runs in a real nginx in tests/loa/media/test_nginx_front.py)."""

from __future__ import annotations

import re
from pathlib import Path

NGINX = (Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "loa.conf").read_text()


def _directives() -> str:
    return "\n".join(line.split("#", 1)[0] for line in NGINX.splitlines())


def test_nginx_replaces_the_forwarded_for_header() -> None:
    conf = _directives()
    assert "$proxy_add_x_forwarded_for" not in conf, "appending keeps what the client forged"
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", conf)


def test_nginx_limits_the_back_office_by_network_and_hides_its_name() -> None:
    conf = _directives()
    admin = re.search(r"location /admin/ \{(.*?)\n    \}", conf, re.S)
    assert admin, "a location of its own for /admin/"
    assert "$loa_admin_network = 0" in admin.group(1) and "return 403" in admin.group(1)
    assert re.search(r"geo \$loa_admin_network \{[^}]*default\s+0;", conf, re.S)
    assert re.search(r"server_tokens\s+off;", conf)
    assert re.search(r"proxy_hide_header\s+Server;", conf)


def test_the_web_unit_runs_uvicorn_without_its_server_header() -> None:
    unit = (Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "loa-web.service").read_text()
    assert "--no-server-header" in unit and "--no-proxy-headers" in unit
    # the C parser as `loa serve` (docs/adr/0020); uvicorn refuses to start if it is missing
    assert "--http httptools" in unit


def test_nginx_keeps_only_what_loa_marks_public() -> None:
    """What nginx does with these rules is tested against a real nginx (tests/loa/media/test_nginx_front.py); here,
    that nothing in the file overrides Loa's Cache-Control."""
    conf = _directives()
    media = re.search(r"location /media/files/ \{(.*?)\n    \}", conf, re.S)
    assert media, "a location of its own for content-addressed media"
    block = media.group(1)
    assert "proxy_cache loa_media;" in block and "proxy_cache_key $uri;" in block
    assert re.search(r"proxy_cache_lock\s+on;", block), "an emergency's devices at once: one request to Loa"
    assert "proxy_ignore_headers" not in conf, (
        "Cache-Control: private must keep a device's media out of the cache"
    )
    assert "proxy_cache_valid" not in conf, (
        "a refusal (401, 404) has no lifetime of Loa's: it must not be kept"
    )
