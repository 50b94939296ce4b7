"""Command line of the reference agent (``loa agent``)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="loa agent", description="Tác tử cụm loa tham chiếu của Loa.")
    parser.add_argument("--version", action="store_true", help="in phiên bản giao thức rồi thoát")
    args = parser.parse_args(argv)
    from loa_protocol import PROTOCOL_VERSION

    if args.version:
        print(f"loa-agent protocol {PROTOCOL_VERSION}")
        return
    parser.error("tác tử chưa được cấu hình: xem docs/protocol.md")
