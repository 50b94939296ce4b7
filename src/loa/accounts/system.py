"""The system actor: who acts when no person does (background jobs such as consuming bulletin hand-offs or
expiring bulletins).

Jobs pass :data:`SYSTEM` wherever a service takes an ``actor``, never ``None``: the permission chokepoints know it
(:func:`loa.accounts.access.grants` gives it the system-wide grant), so a job goes through the same ``access_*``
checks as a person and the exemption is visible at the call site. The audit log records it by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    """Not a user: no row in the database, no password, no session; allowed everything by the chokepoints."""

    name: str
    pk: None = None
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False

    def __str__(self) -> str:
        return self.name


SYSTEM = SystemActor("hệ thống")


def is_system(actor: object) -> bool:
    return isinstance(actor, SystemActor)
