"""loa_protocol and loa_agent run on devices: importing every module of them must not import Django or loa."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import loa_protocol, loa_agent
names = []
for package in (loa_protocol, loa_agent):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.endswith(".__main__"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
bad = sorted(m for m in sys.modules if m in ("django", "loa") or m.startswith(("django.", "loa.")))
assert not bad, bad
print(len(names))
"""


def test_device_packages_never_import_the_server() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 4  # the check really walked the modules
