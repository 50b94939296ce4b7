"""Imported by every Python process started with this directory on PYTHONPATH (see loa_test_clock.py)."""

import loa_test_clock

loa_test_clock.start()
