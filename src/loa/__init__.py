"""Loa: the provincial source information system and everything it drives."""

__version__ = "0.1.0"
