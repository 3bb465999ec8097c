"""Catalogs for the catalog tests: a SQLite file, or a PostgreSQL database of the test's own.

``catalog_location`` is what the tests parametrise over: the location ``open_catalog`` takes
(a path, or a URL). A PostgreSQL location is a database made for the test on the module's
server and dropped after it, so tests share the server but never each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import _servers

KINDS = ["sqlite", "postgresql"]
ROOT = Path(__file__).resolve().parents[2]


def admin(pg: _servers.Postgres, dbname: str = "postgres") -> Any:
    """A connection as the superuser, in autocommit."""
    import psycopg

    return psycopg.connect(
        host=_servers.HOST, port=pg.port, user="postgres", dbname=dbname, autocommit=True
    )


@contextlib.contextmanager
def fresh_database(pg: _servers.Postgres) -> Iterator[str]:
    """The URL of a new, empty database on ``pg``, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with admin(pg) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@{_servers.HOST}:{pg.port}/{name}"
    finally:
        with contextlib.suppress(Exception), admin(pg) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def location_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield str(tmp_path / "catalog.sqlite")
    else:
        pytest.importorskip("psycopg")
        pg: _servers.Postgres = request.getfixturevalue("postgres")
        with fresh_database(pg) as url:
            yield url


def database_of(url: str) -> str:
    found = re.search(r"/([^/?]+)$", url)
    assert found is not None
    return found.group(1)


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running ``code`` with ``args``, talking over pipes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # stop() kills it with everything it forked
    )


def stop(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc``'s process group (if still there) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def expect(proc: subprocess.Popen[str], line: str) -> None:
    """Read ``proc``'s next line and check it is ``line`` (its stderr in the failure)."""
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    if got != line:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"expected {line!r} from the child, got {got!r}:\n{err}")
