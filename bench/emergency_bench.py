"""``loa bench emergency``, runnable as a script (prints one JSON object; figures in docs/benchmarks.md).

LOA_DATA_DIR=$(mktemp -d) .venv/bin/loa migrate && LOA_DATA_DIR=... .venv/bin/python bench/emergency_bench.py [--devices N]
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    import django

    django.setup()
    from loa.broadcast.bench import emergency_bench

    print(json.dumps(emergency_bench(devices=args.devices), ensure_ascii=False))


if __name__ == "__main__":
    main()
