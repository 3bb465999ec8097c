"""The catalog under many writers, a killed writer, gc against saves, and (PostgreSQL) a server
stopped mid-publish: the same tests for SQLite and PostgreSQL where both apply.

Processes stand in for machines: each opens the catalog by its location, as another machine
would. Threads and processes are ordered by lines on pipes and by locks the tests can see
waiting (``pg_locks``, ``/proc/locks``), never by sleeping.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dsviz_widget._errors import CommError, NotFoundError, StoreError
from dsviz_widget.artifacts._catalog_base import BaseCatalog
from dsviz_widget.artifacts._catalog_open import open_catalog
from tests import _servers
from tests.team import _catalogs

MANIFEST = "a" * 64


def publish(cat: BaseCatalog, content: str, aliases: tuple[str, ...] = ()) -> tuple[int, bool]:
    row, new = cat.publish("cars", "dataset", MANIFEST, content, None, {}, 1, None, list(aliases))
    return row.version, new


def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll a state the test can observe (a lock seen waiting), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout:.0f} s: {what}")
        time.sleep(0.02)


def lock_waiters(location: str, request: pytest.FixtureRequest) -> Callable[[], int]:
    """How many lock requests on the catalog's save / gc lock are waiting right now."""
    if location.startswith("postgresql://"):
        pg: _servers.Postgres = request.getfixturevalue("postgres")
        dbname = _catalogs.database_of(location)

        def waiting_pg() -> int:
            with _catalogs.admin(pg) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s",
                    (dbname,),
                ).fetchone()
                return int(row[0])

        return waiting_pg
    lock = Path(location).parent / "gc.lock"

    def waiting_flock() -> int:
        # /proc/locks lists a blocked request as "N: -> FLOCK ADVISORY WRITE pid maj:min:inode".
        inode = f":{lock.stat().st_ino} "
        return sum(
            1
            for line in Path("/proc/locks").read_text().splitlines()
            if "->" in line and "FLOCK" in line and inode in line + " "
        )

    return waiting_flock


# -- many writers ---------------------------------------------------------------------------

# One interpreter imports the package once and forks the eight writers (it has no thread and
# no connection yet, so the forks share neither): eight imports would take most of the test.
_WRITERS = """
import os
import sys
from dsviz_widget.artifacts._catalog_open import open_catalog

location, writers, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
go_read, go_write = os.pipe()
pids = []
for n in range(writers):
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            catalog = open_catalog(location)  # a connection of its own, as on another machine
            # os.write: one write per line, so the eight children's lines never interleave
            os.write(1, b"ready\\n")
            os.read(go_read, 1)
            for i in range(count):
                row, new = catalog.publish(
                    "cars", "dataset", "a" * 64, f"w{n}-{i}", None, {}, 1, None, ["newest"]
                )
                os.write(1, f"{row.version} {row.content} {int(new)}\\n".encode())
            status = 0
        finally:
            os._exit(status)
    pids.append(pid)
sys.stdin.readline()
os.write(go_write, b"x" * writers)  # one byte each: all start at once
failed = sum(os.waitpid(pid, 0)[1] != 0 for pid in pids)
print(f"done {failed}", flush=True)
"""


def test_eight_processes_publish_200_contiguous_versions_none_lost(location: str) -> None:
    launcher = _catalogs.child(_WRITERS, location, "8", "25")
    try:
        for _ in range(8):
            _catalogs.expect(launcher, "ready")
        assert launcher.stdin is not None
        launcher.stdin.write("go\n")
        launcher.stdin.flush()
        out, err = launcher.communicate(timeout=300)
    finally:
        if launcher.poll() is None:
            _catalogs.stop(launcher)
    lines = out.splitlines()
    assert (lines[-1], launcher.returncode) == ("done 0", 0), err
    reported: dict[int, str] = {}
    for line in lines[:-1]:
        version, content, new = line.split()
        assert new == "1" and int(version) not in reported, line
        reported[int(version)] = content
    assert sorted(reported) == list(range(200))
    assert set(reported.values()) == {f"w{n}-{i}" for n in range(8) for i in range(25)}
    seen = open_catalog(location)
    rows = seen.versions("cars")
    assert [r.version for r in rows] == list(range(200))
    assert {r.version: r.content for r in rows} == reported
    assert seen.resolve("cars:newest").version == 199  # each alias move was the last one's


# -- a writer killed mid-transaction --------------------------------------------------------

_KILLED = """
import sys
from contextlib import contextmanager
from dsviz_widget.artifacts._catalog_open import open_catalog

catalog = open_catalog(sys.argv[1])
real_write = type(catalog)._write


class Pausing:
    # test instrumentation: stop inside the transaction once the version row is in
    def __init__(self, db):
        self.db = db

    def execute(self, sql, args=()):
        cursor = self.db.execute(sql, args)
        if sql.startswith("INSERT INTO versions"):
            print("inserted", flush=True)
            sys.stdin.readline()
        return cursor

    def executemany(self, sql, args):
        return self.db.executemany(sql, args)


@contextmanager
def write(self, step):
    with real_write(self, step) as db:
        yield Pausing(db)


type(catalog)._write = write
catalog.publish("cars", "dataset", "a" * 64, "doomed", None, {}, 1, None, ["best"])
print("published", flush=True)
"""


def test_a_writer_killed_mid_transaction_leaves_nothing_and_the_next_publish_succeeds(
    catalog: BaseCatalog, location: str
) -> None:
    assert publish(catalog, "v0", ("prod",)) == (0, True)
    writer = _catalogs.child(_KILLED, location)
    try:
        _catalogs.expect(writer, "inserted")
        os.kill(writer.pid, signal.SIGKILL)
        writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            _catalogs.stop(writer)
    for reader in (catalog, open_catalog(location)):
        assert [r.content for r in reader.versions("cars")] == ["v0"]
        assert reader.resolve("cars:latest").version == 0
        with pytest.raises(NotFoundError):
            reader.resolve("cars:best")
    # The dead writer's transaction (and, in PostgreSQL, its lock on the name) is gone.
    assert publish(catalog, "v1", ("best",)) == (1, True)
    assert catalog.resolve("cars:best").content == "v1"


# -- gc against saves -----------------------------------------------------------------------

_SAVER = """
import sys
from dsviz_widget.artifacts._catalog_open import open_catalog

catalog = open_catalog(sys.argv[1])
with catalog.hold_saving():
    print("holding", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def test_gc_waits_for_a_save_elsewhere_and_keeps_new_saves_out(
    catalog: BaseCatalog, location: str, request: pytest.FixtureRequest
) -> None:
    waiting = lock_waiters(location, request)
    saver = _catalogs.child(_SAVER, location)
    gc_in, gc_may_end, saved = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def gc() -> None:
        try:
            with catalog.hold_exclusive():
                gc_in.set()
                gc_may_end.wait(120)
        except BaseException as exc:
            failures.append(exc)

    def save() -> None:
        other = open_catalog(location)  # another connection, another lock file handle
        try:
            with other.hold_saving():
                saved.set()
        except BaseException as exc:
            failures.append(exc)

    gc_thread = threading.Thread(target=gc)
    save_thread = threading.Thread(target=save)
    try:
        _catalogs.expect(saver, "holding")
        gc_thread.start()
        until(lambda: waiting() == 1, "gc waiting for the save lock")
        assert not gc_in.is_set()
        assert saver.stdin is not None
        saver.stdin.write("done\n")
        saver.stdin.flush()
        _catalogs.expect(saver, "released")
        assert gc_in.wait(60), "gc did not get the lock once the save ended"
        save_thread.start()  # a new save while gc runs: it must wait for gc
        until(lambda: waiting() == 1, "a save waiting for gc")
        assert not saved.is_set()
        gc_may_end.set()
        assert saved.wait(60), "the save did not start once gc ended"
    finally:
        gc_may_end.set()
        _catalogs.stop(saver)
        gc_thread.join(60)
        if save_thread.ident is not None:
            save_thread.join(60)
    assert not failures


# -- PostgreSQL: the server stopped mid-publish ---------------------------------------------


def test_the_server_stopped_mid_publish_is_a_typed_error_and_leaves_nothing(
    postgres: _servers.Postgres, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from dsviz_widget.artifacts._catalog_pg import CatalogServerError

    with _catalogs.location_for("postgresql", request, tmp_path) as url:
        catalog = open_catalog(url)
        assert publish(catalog, "v0") == (0, True)
        dbname = _catalogs.database_of(url)
        outcome: list[BaseException | tuple[int, bool]] = []

        def doomed() -> None:
            try:
                outcome.append(publish(catalog, "doomed", ("best",)))
            except BaseException as exc:
                outcome.append(exc)

        # Hold the publisher inside its transaction (versions row in, aliases to come) by
        # locking the aliases table, then stop the server under it.
        blocker = _catalogs.admin(postgres, dbname)
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE aliases IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=doomed)
        thread.start()

        def publisher_waits() -> bool:
            with _catalogs.admin(postgres) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'relation' AND NOT l.granted AND d.datname = %s",
                    (dbname,),
                ).fetchone()
                return bool(row[0])

        until(publisher_waits, "the publisher waiting inside its transaction")
        postgres.stop()
        thread.join(60)
        blocker.close()
        try:
            [error] = outcome
            assert isinstance(error, CatalogServerError), error
            assert isinstance(error, StoreError) and isinstance(error, CommError)
            assert error.step == "publishing a version of 'cars'"
            assert str(error).startswith("publishing a version of 'cars': the server postgresql://")
            with pytest.raises(CatalogServerError, match="reading the catalog: cannot connect"):
                catalog.resolve("cars")
            with pytest.raises(CatalogServerError) as err, catalog.hold_saving():
                pass
            assert err.value.step == "taking the store's save lock (shared)"
        finally:
            postgres.start()
        # Nothing of the stopped publish, read through the catalog's old (lost) connection
        # and through a new one; then the next publish goes through as if nothing happened.
        for reader in (catalog, open_catalog(url)):
            assert [r.content for r in reader.versions("cars")] == ["v0"]
            with pytest.raises(NotFoundError):
                reader.resolve("cars:best")
        assert publish(catalog, "v1", ("best",)) == (1, True)
        assert catalog.resolve("cars:best").content == "v1"
        catalog.close()  # type: ignore[attr-defined]
