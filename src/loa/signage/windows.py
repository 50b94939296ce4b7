"""Screen-on windows per unit: when its boards are lit. The nearest unit up the path that sets windows decides
(a commune may set its own; a zone inherits its commune's); without any, boards are lit 05:00–22:00 — dark at
night, unless an emergency is on (the player shows an emergency whatever the windows)."""

from __future__ import annotations

from collections.abc import Iterable

from loa.signage.models import ScreenWindows
from loa_protocol import windows as wnd

DEFAULT = (("05:00", "22:00"),)


class ScreenWindowsIndex:
    """Effective screen-on windows for unit paths, from one query."""

    def __init__(self, paths: Iterable[str]) -> None:
        codes: set[str] = set()
        for path in paths:
            codes.update(c for c in path.split("/") if c)
        self.by_code = {
            code: pairs
            for code, pairs in ScreenWindows.objects.filter(
                unit__code__in=codes, windows__isnull=False
            ).values_list("unit__code", "windows")
        }
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}

    def pairs(self, path: str) -> tuple[tuple[str, str], ...]:
        if path not in self._cache:
            found: tuple[tuple[str, str], ...] = DEFAULT
            for code in (c for c in path.split("/") if c):
                if code in self.by_code:
                    found = tuple((a, b) for a, b in (self.by_code[code] or ()))
            self._cache[path] = found
        return self._cache[path]

    def effective(self, path: str) -> wnd.Windows | None:
        """``None``: always lit; the empty set: never (only emergencies)."""
        pairs = self.pairs(path)
        if not pairs:
            return wnd.NEVER
        return wnd.decode(pairs)

    def describe(self, path: str) -> str:
        pairs = self.pairs(path)
        return ", ".join(f"{a}–{b}" for a, b in pairs) if pairs else "không bật"
