"""The ``access_*`` chokepoints of board content (docs/adr/0009): 404 outside the user's units (a commune never
learns that another commune's slide, playlist or board exists), 403 inside them without the action.

Board content reuses the broadcast actions: ``schedule.view`` to see and preview, ``schedule.edit`` to make slides
and playlists and to schedule them, ``bulletin.approve`` to approve a playlist (the programme's rule),
``schedule.override`` to set screen-on windows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loa.accounts.access import access_unit, access_units
from loa.errors import Refusal
from loa.fleet.models import Device, DeviceKind
from loa.signage.models import Playlist, Slide

if TYPE_CHECKING:
    from loa.accounts.models import ApiToken

VIEW = "schedule.view"
EDIT = "schedule.edit"


def _id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def visible_slides(user: Any, token: ApiToken | None = None) -> Any:
    return Slide.objects.filter(unit__in=access_units(user, VIEW, token))


def visible_playlists(user: Any, token: ApiToken | None = None) -> Any:
    return Playlist.objects.filter(unit__in=access_units(user, VIEW, token))


def visible_boards(user: Any, token: ApiToken | None = None) -> Any:
    return Device.objects.filter(kind=DeviceKind.EBOARD, unit__in=access_units(user, VIEW, token))


def access_slide(user: Any, slide_id: Any, action: str = VIEW, token: ApiToken | None = None) -> Slide:
    slide = visible_slides(user, token).select_related("unit").filter(pk=_id(slide_id)).first()
    if slide is None:
        raise Refusal("slide_not_found", "Không tìm thấy trang trình chiếu.", 404)
    access_unit(user, slide.unit, action, token)
    return slide


def access_playlist(
    user: Any, playlist_id: Any, action: str = VIEW, token: ApiToken | None = None
) -> Playlist:
    playlist = (
        visible_playlists(user, token).select_related("unit", "programme").filter(pk=_id(playlist_id)).first()
    )
    if playlist is None:
        raise Refusal("playlist_not_found", "Không tìm thấy danh sách trình chiếu.", 404)
    access_unit(user, playlist.unit, action, token)
    return playlist


def access_board(user: Any, device_id: str, action: str = VIEW, token: ApiToken | None = None) -> Device:
    board = visible_boards(user, token).select_related("unit").filter(device_id=str(device_id)).first()
    if board is None:
        raise Refusal("board_not_found", "Không tìm thấy bảng tin.", 404)
    access_unit(user, board.unit, action, token)
    return board
