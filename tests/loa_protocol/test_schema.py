"""The committed JSON Schemas in docs/protocol/ are generated from the models and up to date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loa_protocol.board import BOARD_MODELS
from loa_protocol.messages import MESSAGE_MODELS
from loa_protocol.schema import json_schemas, main, rendered

DOCS = Path(__file__).parents[2] / "docs" / "protocol"


def test_every_message_has_a_schema() -> None:
    schemas = json_schemas()
    assert set(schemas) == set(MESSAGE_MODELS) | set(BOARD_MODELS) | {"ErrorBody"}
    assert schemas["Command"]["$defs"]["PlayCommand"]["properties"]["v"]["const"] == 1
    assert schemas["Status"]["additionalProperties"] is False


def test_committed_schema_files_are_up_to_date() -> None:
    for name, text in rendered().items():
        path = DOCS / name
        assert path.exists(), f"thiếu {path}: chạy python -m loa_protocol.schema docs/protocol"
        assert path.read_text("utf-8") == text, (
            f"{name} đã cũ: chạy python -m loa_protocol.schema docs/protocol"
        )


def test_check_mode_detects_stale_files(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--check"]) == 1
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path), "--check"]) == 0
    (tmp_path / "Status.schema.json").write_text("{}")
    assert main([str(tmp_path), "--check"]) == 1
    assert json.loads((tmp_path / "Command.schema.json").read_text())["$id"] == "loa/v1/Command.schema.json"


def test_module_entry_point(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "loa_protocol.schema", str(tmp_path)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.schema.json"))) == len(MESSAGE_MODELS) + len(BOARD_MODELS) + 1
