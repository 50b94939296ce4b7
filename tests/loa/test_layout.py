"""The ``loa`` command. (The layering rules are import-linter contracts: tests/loa/test_import_contracts.py.)"""

from __future__ import annotations

import os
import subprocess
import sys


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
