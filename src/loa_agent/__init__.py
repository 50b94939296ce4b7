"""The reference Loa loudspeaker agent and its simulator. Depends on ``loa_protocol``, never on ``loa``."""

__version__ = "0.1.0"
