"""The simulated devices' media cache (loa_agent.sim_media) against the real media view on a live server: what it
keeps, and the reason code of each refusal — the same codes as the reference agent's cache (protocol.md §6)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest

from loa.accounts.roles import Role
from loa.fleet.services import do_provision_device, do_send_command
from loa.media.models import MediaAsset
from loa.tts.services import do_synthesize
from loa_agent.media import MediaError
from loa_agent.sim_media import SimulatedMediaCache
from tests.loa.fleet.brokers import mqtt_dir  # type: ignore[import-not-found]  # noqa: F401  (shared fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("mqtt_dir")]


@pytest.fixture
def commanded(
    live_server: Any, settings: Any, tree: dict, make_user: Any
) -> tuple[str, str, tuple[str, str]]:
    """Speech that is not public, a device a play command sent it to: (url, sha256, the device's credentials)."""
    from loa.broadcast.services import media_url

    settings.LOA_PUBLIC_URL = live_server.url
    operator = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    clip = do_synthesize("Thông báo của xã cho một cụm loa.", actor=operator, unit=tree["a"])
    asset = MediaAsset.objects.get(pk=clip.media_asset_id)
    device, password = do_provision_device(tree["a"], actor=None, serial="SM-1")
    url = media_url(asset.sha256)
    do_send_command(actor=operator, action="play", target_device=device,
                    params={"item_id": "sm-1", "media_url": url, "sha256": asset.sha256,
                            "duration_s": float(asset.duration_s or 1), "priority": 4})  # fmt: skip
    return url, asset.sha256, (device.device_id, password)


def _fetch(cache: SimulatedMediaCache, url: str, sha256: str, auth: tuple[str, str] | None) -> Any:
    try:
        return asyncio.run(cache.fetch_async(url, sha256, auth))
    except MediaError as exc:
        return exc.code


def test_it_keeps_the_verified_file(tmp_path: Path, commanded: tuple[str, str, tuple[str, str]]) -> None:
    url, sha256, auth = commanded
    cache = SimulatedMediaCache(tmp_path / "cache")
    assert cache.cached_path(sha256) is None
    path = _fetch(cache, url, sha256, auth)
    assert path == tmp_path / "cache" / sha256 and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    assert cache.cached_path(sha256) == path
    assert list((tmp_path / "cache").iterdir()) == [path]  # no temporary file left


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no credentials", "media_forbidden"),
        ("wrong password", "media_forbidden"),
        ("another sha256 than the file's", "sha256_mismatch"),
        ("no such file", "download_failed"),
        ("nothing listens", "download_failed"),
        ("not http", "download_failed"),
    ],
)
def test_each_refusal_has_its_reason_and_keeps_nothing(
    tmp_path: Path, commanded: tuple[str, str, tuple[str, str]], case: str, code: str
) -> None:
    url, sha256, auth = commanded
    expected = sha256
    if case == "no credentials":
        auth_used: tuple[str, str] | None = None
    elif case == "wrong password":
        auth_used = (auth[0], "sai-mat-khau")
    else:
        auth_used = auth
    if case == "another sha256 than the file's":
        expected = hashlib.sha256(b"khac").hexdigest()
    elif case == "no such file":
        url = url.replace(sha256, "0" * 64)
    elif case == "nothing listens":
        url = f"http://127.0.0.1:{_closed_port()}/media/files/{sha256}.mp3"
    elif case == "not http":
        url = "ftp://127.0.0.1/x.mp3"
    cache = SimulatedMediaCache(tmp_path / "cache")
    assert _fetch(cache, url, expected, auth_used) == code
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_an_answer_that_is_not_http_is_a_failed_download(tmp_path: Path) -> None:
    """Whatever answers on the port (here a server that writes no status code) is ``download_failed``, never an
    exception that would leave the command neither played nor acked."""

    async def run() -> Any:
        async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"XINCHAO\r\n\r\n")  # no space: no status code at all
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(garbage, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await SimulatedMediaCache(tmp_path / "cache").fetch_async(
                f"http://127.0.0.1:{port}/media/files/{'0' * 64}.mp3", "0" * 64
            )
        except MediaError as exc:
            return exc.code
        finally:
            server.close()

    assert asyncio.run(run()) == "download_failed"
    assert not (tmp_path / "cache").exists()
