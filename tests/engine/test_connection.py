"""The engine's DuckDB connections: locked down whether made on the spot or taken from the
spare made ahead, and spares made only between foreground queries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dsviz_widget.engine import _connection
from dsviz_widget.engine._connection import foreground, open_connection, retire


def _settings(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    row = con.execute(
        "SELECT current_setting('threads'), current_setting('enable_external_access'), "
        "current_setting('lock_configuration'), current_setting('allowed_paths')"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_a_spare_is_configured_and_locked_like_a_new_connection(tmp_path: Path) -> None:
    path = str(tmp_path / "t.parquet")
    retire(open_connection())  # asks for a spare (the process's first connection finds none)
    assert _connection.wait_for_spare(30)
    taken = _connection.spares_taken()
    spare = open_connection([path], threads=2, memory_limit="300MB")
    assert _connection.spares_taken() == taken + 1
    with _connection._cv:  # nobody else takes the next spare: make this one on the spot
        _connection._enabled = False
    try:
        fresh = open_connection([path], threads=2, memory_limit="300MB")
    finally:
        with _connection._cv:
            _connection._enabled = True
    assert _connection.spares_taken() == taken + 1
    for con in (spare, fresh):
        assert _settings(con) == (2, False, True, [path])
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_text('/etc/passwd')").fetchall()
        retire(con)


def test_spares_are_made_between_foreground_queries() -> None:
    retire(open_connection())
    assert _connection.wait_for_spare(30)
    with foreground():
        con = open_connection()  # takes the spare and asks for the next ...
        assert not _connection.wait_for_spare(0.3)  # ... which waits for the query to end
    assert _connection.wait_for_spare(30)
    retire(con)


def test_two_new_files_in_a_row_both_open_on_spares(tmp_path: Path) -> None:
    """A second new file right after the first (a comparison of two versions, a script
    reading two tables) finds a spare ready too, instead of waiting for one being made."""
    retire(open_connection())
    assert _connection.wait_for_spare(30)
    taken = _connection.spares_taken()
    with foreground():  # no spare is made meanwhile
        first = open_connection([str(tmp_path / "a.parquet")])
        second = open_connection([str(tmp_path / "b.parquet")])
    assert _connection.spares_taken() == taken + 2
    for con, name in ((first, "a"), (second, "b")):
        assert _settings(con)[1:] == (False, True, [str(tmp_path / f"{name}.parquet")])
        retire(con)
    assert _connection.wait_for_spare(30)  # both made again once no query runs
