"""deploy/board: the installer writes the server into the kiosk's configuration and installs the launcher, which
opens <server>/board/ full screen in Chromium with a profile of its own and nothing listening (no debugging port)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "board"


def _install(tmp_path: Path, server: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(DEPLOY / "install.sh"), "--server", server, "--no-apt", "--no-systemd", "--no-user",
         "--prefix", str(tmp_path / "opt"), "--bin-dir", str(tmp_path / "bin"), "--conf", str(tmp_path / "board.conf")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_install_and_kiosk_open_the_player_and_nothing_else(tmp_path: Path) -> None:
    done = _install(tmp_path, "https://loa.example.vn/")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "board.conf").read_text() == "LOA_SERVER=https://loa.example.vn\n"
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "chromium").write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    (fake / "chromium").chmod(0o755)
    env = os.environ | {
        "PATH": f"{fake}:/usr/bin:/bin",
        "LOA_BOARD_CONF": str(tmp_path / "board.conf"),
        "LOA_BOARD_PROFILE": str(tmp_path / "profile"),
    }
    run = subprocess.run(
        [str(tmp_path / "bin" / "loa-board-kiosk")], capture_output=True, text=True, env=env, timeout=30
    )
    assert run.returncode == 0, run.stderr
    args = run.stdout.splitlines()
    assert args[args.index("--kiosk") + 1] == "https://loa.example.vn/board/"
    assert f"--user-data-dir={tmp_path / 'profile'}" in args
    assert not any("remote-debugging" in a for a in args)


@pytest.mark.parametrize("server", ["loa.example.vn", "http://loa.example.vn", "ftp://x"])
def test_install_refuses_a_server_that_is_not_https(tmp_path: Path, server: str) -> None:
    done = _install(tmp_path, server)
    assert done.returncode == 2 and "https://" in done.stderr
    assert not (tmp_path / "board.conf").exists()


def test_the_unit_restarts_the_kiosk_for_ever() -> None:
    unit = (DEPLOY / "loa-board.service").read_text()
    assert "ExecStart=/usr/bin/cage -d -s -- /usr/local/bin/loa-board-kiosk" in unit
    assert "Restart=always" in unit and "StartLimitIntervalSec=0" in unit
