"""The priority ladder lives in the protocol (:mod:`loa_protocol.ladder`), shared with the server; the agent reads
it from there. Kept as a module so ``loa_agent.ladder`` imports keep working."""

from __future__ import annotations

from loa_protocol.ladder import (
    BULLETIN,
    CLASS_NAMES,
    CLASSES,
    EMERGENCY,
    LADDER,
    LIVE,
    NORMAL,
    Decision,
    PlayClass,
    decide,
    obeys_windows,
    queue_key,
)

__all__ = [
    "BULLETIN",
    "CLASSES",
    "CLASS_NAMES",
    "EMERGENCY",
    "LADDER",
    "LIVE",
    "NORMAL",
    "Decision",
    "PlayClass",
    "decide",
    "obeys_windows",
    "queue_key",
]
