"""The layout rules of DESIGN §3, and the ``loa`` command."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import loa_agent
import loa_protocol


def test_protocol_and_agent_never_import_django_or_the_server() -> None:
    modules = [
        m.name
        for pkg in (loa_protocol, loa_agent)
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
        if not m.name.endswith(".__main__")  # importing it would run the command line
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {['loa_protocol', 'loa_agent', *modules]!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.') or m == 'loa'"
        " or m.startswith('loa.'))\n"
        "assert not bad, bad\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_loa_help_lists_loa_commands_first() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loa.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("Lệnh của Loa") < out.index("Lệnh Django")
    own = out[out.index("Lệnh của Loa") : out.index("Lệnh Django")]
    for command in ("units", "audit", "demo", "serve"):
        assert f"  {command} " in own
    assert "migrate" in out[out.index("Lệnh Django") :]
