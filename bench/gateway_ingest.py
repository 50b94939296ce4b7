"""Gateway ingest benchmark: heartbeats/s and exactly-once play logs/s (prints one JSON object).

    LOA_DATA_DIR=$(mktemp -d) .venv/bin/loa migrate && LOA_DATA_DIR=... .venv/bin/python bench/gateway_ingest.py
    # or: loa bench ingest --devices 200 --heartbeats 20000 --playlogs 20000

Uses the configured database (LOA_DATABASE_URL) and broker (LOA_MQTT_URL; "embedded" starts a private Mosquitto).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    from loa.cli import main as loa_main

    loa_main(["loa", "bench", "ingest", *sys.argv[1:]])


if __name__ == "__main__":
    main()
