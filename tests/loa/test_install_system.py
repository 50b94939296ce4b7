"""scripts/install_system.sh: what `make demo`/`make test` run first (issue 19, item 12)."""

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_system.sh"


def _stubs(tmp_path: Path, uid: int, missing: str) -> dict[str, str]:
    """A PATH where dpkg says `missing` is not installed, `id -u` answers `uid` and apt-get only records its call."""
    (tmp_path / "dpkg-query").write_text(
        f'#!/bin/sh\n[ "$3" = {missing} ] && exit 1\necho "install ok installed"\n'
    )
    (tmp_path / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (tmp_path / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/apt.log\n')
    (tmp_path / "npm").write_text("#!/bin/sh\n")
    for stub in ("dpkg-query", "id", "apt-get", "npm"):
        (tmp_path / stub).chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}


def _only_stubs(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """The stubs plus bash and grep, nothing else on PATH: a machine without sudo."""
    for tool in ("bash", "grep"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    return {**env, "PATH": str(tmp_path)}


def _sudo(tmp_path: Path, answer: int) -> None:
    """A sudo that records what it was asked to run and answers `answer` (0: it ran as root, installing)."""
    (tmp_path / "sudo").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/sudo.log\nexit {answer}\n')
    (tmp_path / "sudo").chmod(0o755)


def test_without_root_it_installs_through_sudo(tmp_path: Path) -> None:
    env = _stubs(tmp_path, uid=1000, missing="chromium")
    _sudo(tmp_path, answer=0)
    result = subprocess.run([str(SCRIPT), "test"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sudo.log").read_text().splitlines() == [f"{SCRIPT} test"]
    assert "chromium" in result.stderr and "sudo" in result.stderr


def test_without_root_when_sudo_is_refused_prints_one_command_and_stops(tmp_path: Path) -> None:
    env = _stubs(tmp_path, uid=1000, missing="chromium")
    _sudo(tmp_path, answer=1)
    result = subprocess.run([str(SCRIPT), "test"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert f"sudo {SCRIPT} test" in result.stderr
    assert result.stderr.count("Thiếu gói hệ thống: chromium") == 1, result.stderr  # said once, not twice
    assert "Không cài được qua sudo" in result.stderr
    assert not (tmp_path / "apt.log").exists()


def test_without_root_and_without_sudo_prints_one_command_and_stops(tmp_path: Path) -> None:
    env = _only_stubs(tmp_path, _stubs(tmp_path, uid=1000, missing="chromium"))
    result = subprocess.run([str(SCRIPT), "test"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "chromium" in result.stderr
    assert f"sudo {SCRIPT} test" in result.stderr
    assert not (tmp_path / "apt.log").exists()


def test_as_root_installs_only_what_is_missing(tmp_path: Path) -> None:
    env = _stubs(tmp_path, uid=0, missing="sox")
    subprocess.run([str(SCRIPT), "test"], env=env, check=True, capture_output=True)
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls[0] == "update -q"
    assert calls[1].endswith("--no-install-recommends sox")


def test_nothing_missing_touches_nothing(tmp_path: Path) -> None:
    env = _stubs(tmp_path, uid=0, missing="none")
    subprocess.run([str(SCRIPT), "demo"], env=env, check=True, capture_output=True)
    assert not (tmp_path / "apt.log").exists()
