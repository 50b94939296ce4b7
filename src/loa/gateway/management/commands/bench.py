"""``loa bench``: one command for every benchmark; ``ingest`` is registered in the shared dispatcher
(:mod:`loa.broadcast.management.commands.bench`), which keeps ``--devices/--heartbeats/--playlogs/--publishers``."""

from loa.broadcast.management.commands.bench import Command

__all__ = ["Command"]
