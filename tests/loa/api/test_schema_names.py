"""Two API schemas with one name collide in the OpenAPI document (the second replaces the first under
``components/schemas``), so clients and the fuzz test validate answers against the wrong one: every schema class of
the API has a name of its own."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import loa

SRC = Path(loa.__file__).parent


def test_every_api_schema_has_its_own_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", "")) in ("Schema", "ModelSchema") for b in node.bases
            ):
                where[node.name].append(f"{path.relative_to(SRC)}:{node.lineno}")
    same = {name: places for name, places in where.items() if len(places) > 1}
    assert not same, f"API schemas sharing a name (rename one): {same}"
