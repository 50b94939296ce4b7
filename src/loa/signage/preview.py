"""What a board shows, for the console's preview at the board's real resolution (scaled to fit the page): its
current manifest entry (or the next one), or a playlist before it is scheduled — drawn from the very slide JSON
the compiler puts in the manifest (:func:`loa.signage.compile.slide_json`), so the preview is what the board gets.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from loa.fleet.models import Device
from loa.signage import layouts
from loa.signage.compile import _screen, manifest_payload, slide_json
from loa.signage.models import Playlist
from loa.signage.windows import ScreenWindowsIndex


def _frame(board: Device) -> tuple[dict[str, Any], str, float]:
    screen = _screen(getattr(board, "screen", None))
    w, h = screen["width"], screen["height"]
    cls = layouts.standard_class(screen["screen_class"], screen["orientation"], w, h)
    base_w, base_h = layouts.SCREEN_SIZES[cls]
    return screen, cls, min(w / base_w, h / base_h)


def playlist_frame(board: Device, playlist: Playlist) -> dict[str, Any]:
    screen, cls, scale = _frame(board)
    w, h = screen["width"], screen["height"]
    zone_boxes = layouts.zones(playlist.layout, w, h)
    ids = {z.zone_id for z in zone_boxes}
    slides = [
        j
        for pos, item in enumerate(playlist.items.select_related("slide__bulletin"))
        if (j := slide_json(item.slide, pos, item.duration_s, cls, ids, scale)) is not None
    ]
    skipped = playlist.items.count() - len(slides)
    return {
        "screen": screen, "screen_class": cls, "layout_id": playlist.layout,
        "zones": [z.as_dict() for z in zone_boxes], "slides": slides, "skipped": skipped,
        "source": "playlist", "playlist_id": playlist.pk,
    }  # fmt: skip


def board_preview(board: Device, playlist: Playlist | None = None) -> dict[str, Any]:
    if playlist is not None:
        out = playlist_frame(board, playlist)
    else:
        screen, cls, _scale = _frame(board)
        out = {
            "screen": screen,
            "screen_class": cls,
            "zones": [],
            "slides": [],
            "skipped": 0,
            "source": "manifest",
        }
        payload = manifest_payload(board.device_id)
        if payload is not None:
            m = json.loads(payload)
            now = timezone.now().isoformat().replace("+00:00", "Z")
            current = [e for e in m["timeline"] if e["start"] <= now < e["end"]]
            upcoming = [e for e in m["timeline"] if e["start"] > now]
            entry = (
                sorted(current, key=lambda e: (e["priority"], e["start"]))[:1] or upcoming[:1] or [None]
            )[0]
            out.update({"killed": m["killed"], "emergency": m["emergency"], "version": m["version"]})
            if entry is not None:
                layout = next(x for x in m["layouts"] if x["layout_id"] == entry["layout_id"])
                out.update(
                    {
                        "zones": layout["zones"],
                        "slides": entry["slides"],
                        "entry": {k: entry[k] for k in ("entry_id", "start", "end")},
                    }
                )
    out["windows"] = ScreenWindowsIndex([board.unit.path]).describe(board.unit.path)
    return out
