"""The priority ladder (DESIGN §4): the play classes and what a device does when an item arrives while another
plays. One table, read by the agent (it decides) and by the server (it assigns classes, predicts refusals in the
preview). Plain Python: no Django, no server code.

| arriving \\ playing | idle | 4 normal | 3 priority | 2 live | 1 emergency |
|---|---|---|---|---|---|
| 1 emergency | PLAY | PREEMPT | PREEMPT | PREEMPT | QUEUE |
| 2 live | PLAY | PREEMPT | PREEMPT | HIGHER_LEVEL_WINS | QUEUE |
| 3 priority bulletin | PLAY | AT_ITEM_END | QUEUE | QUEUE | QUEUE |
| 4 normal | PLAY | QUEUE | QUEUE | QUEUE | QUEUE |

* PREEMPT: the playing item is interrupted now and saved; it resumes after the interrupt if its window is still
  open, else it is dropped (both logged).
* AT_ITEM_END: plays at the end of the current item, before any queued normal item.
* QUEUE: waits in the queue, which is ordered by class, then by arrival (so a queued priority bulletin still goes
  before queued normal items).
* HIGHER_LEVEL_WINS: the live broadcast from the higher administrative level (province over commune over zone)
  pre-empts; otherwise the arriving one is refused.

Only emergencies ignore the unit's allowed windows (quiet hours) and volume cap (:func:`obeys_windows`).
"""

from __future__ import annotations

import enum


class PlayClass(enum.IntEnum):
    """The ``priority`` of a play command or manifest entry (the wire carries the number)."""

    EMERGENCY = 1
    LIVE = 2
    PRIORITY = 3  # a priority bulletin
    NORMAL = 4


EMERGENCY, LIVE, BULLETIN, NORMAL = PlayClass.EMERGENCY, PlayClass.LIVE, PlayClass.PRIORITY, PlayClass.NORMAL
CLASSES = tuple(PlayClass)
CLASS_NAMES = {EMERGENCY: "emergency", LIVE: "live", BULLETIN: "priority bulletin", NORMAL: "normal"}
SCHEDULABLE = frozenset(
    {PlayClass.PRIORITY, PlayClass.NORMAL}
)  # what a schedule may carry; the rest is on demand


def obeys_windows(priority: int) -> bool:
    """Whether an item of this class is refused outside the allowed windows (everything but emergencies)."""
    return priority != PlayClass.EMERGENCY


class Decision(enum.Enum):
    PLAY = "play"
    PREEMPT = "preempt"
    AT_ITEM_END = "at_item_end"
    QUEUE = "queue"
    HIGHER_LEVEL_WINS = "higher_level_wins"
    REFUSE = "refuse"


P, X, E, Q, H = (
    Decision.PLAY,
    Decision.PREEMPT,
    Decision.AT_ITEM_END,
    Decision.QUEUE,
    Decision.HIGHER_LEVEL_WINS,
)

# LADDER[arriving][playing]; playing None = idle.
LADDER: dict[int, dict[int | None, Decision]] = {
    EMERGENCY: {None: P, NORMAL: X, BULLETIN: X, LIVE: X, EMERGENCY: Q},
    LIVE: {None: P, NORMAL: X, BULLETIN: X, LIVE: H, EMERGENCY: Q},
    BULLETIN: {None: P, NORMAL: E, BULLETIN: Q, LIVE: Q, EMERGENCY: Q},
    NORMAL: {None: P, NORMAL: Q, BULLETIN: Q, LIVE: Q, EMERGENCY: Q},
}


def decide(
    arriving: int, playing: int | None, arriving_level: int | None = None, playing_level: int | None = None
) -> Decision:
    """The decision for an item of class ``arriving`` while ``playing`` plays.

    Levels are depths in the unit tree of the topic the item came from (1 province, 2 commune, 3 zone; a device's
    own topic counts as the deepest); they only matter for live against live."""
    decision = LADDER[arriving][playing]
    if decision is Decision.HIGHER_LEVEL_WINS:
        a = arriving_level if arriving_level is not None else 99
        b = playing_level if playing_level is not None else 99
        return Decision.PREEMPT if a < b else Decision.REFUSE
    return decision


def queue_key(priority: int, order: float) -> tuple[int, float]:
    """Sort key of the waiting queue: class first, then arrival / schedule order."""
    return (priority, order)
