"""The emergency path's one-time costs of a process (the URL resolver's reverse table, the speech normalizer) are
paid when the web process starts, not by the first emergency after a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from loa.broadcast.emergency import warm_emergency_path


@pytest.mark.django_db
def test_the_warm_up_reads_nothing_from_the_database(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        seconds = warm_emergency_path()
    assert set(seconds) == {"urls_s", "normalizer_s"} and all(v >= 0 for v in seconds.values())


def test_the_web_process_warms_the_emergency_path_when_it_starts(tmp_path: Any) -> None:
    code = (
        "import sys\n"
        "from django.urls import get_resolver\n"
        "import loa.asgi\n"
        "loa.asgi.warm_up.join(60)\n"
        "print(bool(get_resolver()._reverse_dict), 'loa.tts.normalize' in sys.modules)\n"
    )
    env = dict(os.environ, LOA_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="loa.settings")
    env.pop("LOA_DATABASE_URL", None)  # the warm-up reads no database; this process has none of its own
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"], (out.stdout, out.stderr[-2000:])
