"""The layering rules are checked by import-linter (``.importlinter``, run by ``make lint``): the device side imports
nothing of the server, domain modules import no views/API/console, and a domain package's modules have no import
cycle. These tests show that the check holds today and that it fails on each kind of breach, by running
``lint-imports`` on a copy of the sources with one bad import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(src)  # before the installed (editable) loa, so the copy is what is analysed
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(ROOT / ".importlinter")],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A copy of the Python sources of loa, loa_protocol and loa_agent."""
    for package in ("loa", "loa_protocol", "loa_agent"):
        shutil.copytree(
            SRC / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return tmp_path


def _add_import(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_contracts_hold_on_the_sources() -> None:
    result = _lint(SRC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_the_copy_passes_before_anything_is_added(sources: Path) -> None:
    result = _lint(sources)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_new_import_cycle_fails(sources: Path) -> None:
    _add_import(sources / "loa" / "content" / "validation.py", "import loa.content.editing  # noqa")
    result = _lint(sources)
    assert result.returncode != 0
    assert "no import cycles between the modules of a domain package BROKEN" in result.stdout
    assert ".validation -> .editing" in result.stdout


def test_a_service_importing_a_view_fails(sources: Path) -> None:
    _add_import(sources / "loa" / "fleet" / "services.py", "from loa.fleet import views  # noqa")
    result = _lint(sources)
    assert result.returncode != 0
    assert "domain models and services import no views, API or console modules BROKEN" in result.stdout
    assert "loa.fleet.services -> loa.fleet.views" in result.stdout


def test_the_protocol_importing_the_server_or_django_fails(sources: Path) -> None:
    _add_import(sources / "loa_protocol" / "topics.py", "import django  # noqa")
    _add_import(sources / "loa_agent" / "core.py", "import loa.errors  # noqa")
    result = _lint(sources)
    assert result.returncode != 0
    assert (
        "loa_protocol and loa_agent import nothing of the server (no loa, no Django) BROKEN" in result.stdout
    )
    assert "loa_protocol.topics -> django" in result.stdout
    assert "loa_agent.core -> loa.errors" in result.stdout
