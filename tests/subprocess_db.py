"""The test database as a URL for a child process (``loa gateway``, ``loa serve``, ``loa qcluster``…).

pytest-django gives this process a test database (a file under the data directory on SQLite, ``test_<name>`` on
PostgreSQL); a child started with ``LOA_DATABASE_URL`` set to :func:`database_url` works on the same one. Use it
with ``transactional_db`` so that what each side writes is committed and visible to the other.
"""

from __future__ import annotations

from urllib.parse import quote


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor != "postgresql":
        raise RuntimeError(f"no URL for a {connection.vendor} test database")
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"
