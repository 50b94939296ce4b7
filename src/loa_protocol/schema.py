"""JSON Schemas of the protocol messages, written to ``docs/protocol/<Name>.schema.json``.

Usage: ``python -m loa_protocol.schema docs/protocol`` (``--check`` exits 1 when the files are out of date).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from loa_protocol.board import BOARD_MODELS
from loa_protocol.messages import MESSAGE_MODELS, ErrorBody, TypedCommand


def json_schemas() -> dict[str, dict[str, Any]]:
    """``{message name: JSON Schema}`` for every protocol message."""
    schemas = {}
    models: dict[str, Any] = {**MESSAGE_MODELS, **BOARD_MODELS, "ErrorBody": ErrorBody}
    for name, model in models.items():
        # a Command's params per action: the discriminated union on ``action`` (loa_protocol.messages.TypedCommand)
        schema = TypeAdapter(TypedCommand).json_schema() if name == "Command" else model.model_json_schema()
        if name == "Command":
            schema["title"] = "Command"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"loa/v1/{name}.schema.json"
        schemas[name] = schema
    return schemas


def rendered() -> dict[str, str]:
    """``{file name: file text}`` of the schema files."""
    return {
        f"{name}.schema.json": json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        for name, schema in json_schemas().items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ghi lược đồ JSON của giao thức thiết bị Loa.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="chỉ kiểm tra, không ghi")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = args.directory / name
        if path.exists() and path.read_text("utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
    if args.check and stale:
        print("Lược đồ đã cũ, chạy lại python -m loa_protocol.schema: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
