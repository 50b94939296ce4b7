"""The database connection a browser test's ORM calls open inside ``browser_page`` is closed with the block
(``tests/browser.py``): Django keeps it in a context variable there, not in the thread pytest-django cleans up, so
before, it outlived the test and the next browser test of the worker reused it — terminated on PostgreSQL if a test
in between ended the database's connections (``tests/loa/gateway/test_storm.py``)."""

from __future__ import annotations

import pytest
from django.db import connection

from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_browser_block_leaves_no_database_connection_to_the_next(tree: dict[str, Unit]) -> None:
    outside = connection.connection
    with browser_page():
        assert Unit.objects.filter(code="06652").exists()
        first = connection.connection
        assert first is not None and first is not outside  # the block's own connection
    assert connection.connection is outside  # the test's connection, untouched
    with browser_page():
        assert connection.connection is None  # the first block's connection did not carry over
        assert Unit.objects.filter(code="06652").exists()
        assert connection.connection is not first
