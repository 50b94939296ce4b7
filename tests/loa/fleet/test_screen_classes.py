"""One vocabulary of screen classes: the protocol's list (loa_protocol.board.SCREEN_CLASSES) is the fleet's
ScreenClass, the signage layouts' sizes, the manifest schema's enum and what protocol.md §9b and fleet.md document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

from loa.fleet.models import SCREEN_SIZES, ScreenClass
from loa.signage import layouts
from loa_protocol.board import SCREEN_CLASSES, STANDARD_SCREEN_SIZES, ScreenClassName

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _size(text: str) -> tuple[int, int]:
    w, h = text.split("×")
    return int(w), int(h)


def test_the_code_uses_one_list() -> None:
    assert list(get_args(ScreenClassName)) == list(SCREEN_CLASSES)
    assert list(ScreenClass.values) == list(SCREEN_CLASSES)
    assert SCREEN_SIZES == STANDARD_SCREEN_SIZES == layouts.SCREEN_SIZES
    assert set(layouts.SCREEN_LABELS) == set(STANDARD_SCREEN_SIZES)
    for name, size in STANDARD_SCREEN_SIZES.items():  # the label names the size
        assert f"{size[0]}×{size[1]}" in str(ScreenClass(name).label)
    schema = json.loads((DOCS / "protocol/BoardManifest.schema.json").read_text())
    assert schema["$defs"]["Screen"]["properties"]["screen_class"]["enum"] == list(SCREEN_CLASSES)


def test_protocol_md_documents_the_codes_list() -> None:
    text = (DOCS / "protocol.md").read_text()
    section = text[text.index("## 9b.") : text.index("## 9c.")]
    paragraph = section[section.index("**Screen classes**") :].split("\n\n")[0]
    documented = re.findall(r"`([a-z0-9_]+)`(?: (\d+×\d+))?", paragraph.split(":", 1)[1])
    assert [name for name, _ in documented] == list(SCREEN_CLASSES)
    assert {name: _size(size) for name, size in documented if size} == STANDARD_SCREEN_SIZES
    assert "`led`" not in section.replace("`led_", "")


def test_fleet_md_documents_the_codes_list() -> None:
    text = (DOCS / "fleet.md").read_text()
    table = text[text.index("| screen class | resolution |") :].split("\n\n")[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` [^|]*\| ([^|]+) \|", table, re.M)
    assert [name for name, _ in rows] == list(SCREEN_CLASSES)
    assert {n: _size(r.strip()) for n, r in rows if n in STANDARD_SCREEN_SIZES} == STANDARD_SCREEN_SIZES
