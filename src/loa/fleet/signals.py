"""Signals of the fleet for other domains (the fleet imports none of them).

``board_changed``: sent inside the transaction whenever what a board's manifest carries from the fleet changes — a
board enrolled, its screen edited, a kill switch engaged or released — with ``unit_paths`` (areas: every board
under them) and ``device_ids`` (boards). The board manifest compiler (signage) connects to it in its app's
``ready()`` and recompiles those boards once the change commits.
"""

from __future__ import annotations

from django.dispatch import Signal

board_changed = Signal()

# ``screenshot_received``: sent once a board's screenshot is stored (after its transaction commits), with
# ``device_id`` and ``screenshot_id``; signage compares it with what the board's manifest says it shows
# (loa.signage.screencheck) and reports back through :func:`loa.fleet.boards.do_screen_verdict`.
screenshot_received = Signal()


def send_board_changed(*, unit_paths: list[str] | None = None, device_ids: list[str] | None = None) -> None:
    from loa.fleet.models import Device

    board_changed.send(sender=Device, unit_paths=list(unit_paths or []), device_ids=list(device_ids or []))
