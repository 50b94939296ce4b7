"""Events other parts consume (sent after the transaction commits).

``bulletin_transition(bulletin, name)``: a bulletin moved through the workflow (``name`` is the transition).
``broadcast_handoff(bulletin_ids)``: new :class:`~loa.content.models.BroadcastHandoff` rows wait for the
broadcasting side (emergency: play at once; priority: insert automatically; cancel: stop).
"""

from __future__ import annotations

from django.dispatch import Signal

bulletin_transition = Signal()
broadcast_handoff = Signal()
