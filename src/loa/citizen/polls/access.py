"""Who may see or run a poll: the one guard of the console pages (a poll outside the user's scope is a 404), and
what the public may see (a poll that is not a draft)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from loa.accounts.access import access_unit
from loa.citizen.polls.models import Poll
from loa.errors import Refusal


def _not_found() -> Refusal:
    return Refusal("poll_not_found", _("Không tìm thấy cuộc thăm dò ý kiến."), 404)


def access_poll(user: Any, poll_id: int, action: str, token: Any = None) -> Poll:
    poll = Poll.objects.select_related("unit").filter(pk=poll_id).first()
    if poll is None:
        raise _not_found()
    try:
        access_unit(user, poll.unit, action, token)
    except Refusal as exc:
        if exc.status == 403:
            raise _not_found() from None  # outside the scope: as if it did not exist
        raise
    return poll


def access_public_poll(poll_id: int) -> Poll:
    """A poll the public may see: published or closed (never a draft)."""
    poll = Poll.objects.select_related("unit").filter(pk=poll_id).exclude(state=Poll.State.DRAFT).first()
    if poll is None:
        raise _not_found()
    return poll
