"""Every public method of the catalog, the same test for the SQLite and the PostgreSQL one.

Each test gets an empty catalog of its own (a SQLite file, or a database made for it on the
module's PostgreSQL server) and checks what a caller sees: version rows, numbers, aliases,
run records, history and lineage, and the errors with their messages.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsviz_widget._errors import CommError, NotFoundError, StoreError, ValidationError
from dsviz_widget.artifacts._catalog_base import BaseCatalog
from dsviz_widget.artifacts._catalog_open import open_catalog
from tests.team import _catalogs

M0, M1, M2 = ("a" * 64, "b" * 64, "c" * 64)


def publish(
    cat: BaseCatalog,
    name: str,
    content: str,
    *,
    aliases: tuple[str, ...] = (),
    run_id: str | None = None,
    type_: str = "dataset",
    manifest: str = M0,
) -> tuple[int, bool]:
    row, new = cat.publish(
        name, type_, manifest, content, f"about {content}", {"n": 1}, 10, run_id, list(aliases)
    )
    return row.version, new


# -- versions -------------------------------------------------------------------------------


def test_publish_returns_the_stored_row(catalog: BaseCatalog) -> None:
    before = time.time()
    row, new = catalog.publish(
        "cars", "dataset", M1, "content-1", "first", {"rows": 3, "x": [1.5, None]}, 123, None, []
    )
    assert new
    assert (row.artifact, row.type, row.version, row.qualified_name) == (
        "cars",
        "dataset",
        0,
        "cars:v0",
    )
    assert (row.manifest, row.content, row.description, row.size, row.run_id) == (
        M1,
        "content-1",
        "first",
        123,
        None,
    )
    assert row.metadata == {"rows": 3, "x": [1.5, None]}
    assert before <= row.created_at <= time.time()
    # Full float precision: PostgreSQL's REAL would round the timestamp to whole minutes.
    assert row.created_at != float(round(row.created_at))
    assert row.aliases == ("latest",)
    assert catalog.version("cars", 0) == row


def test_version_numbers_count_up_and_same_content_is_no_new_version(
    catalog: BaseCatalog,
) -> None:
    assert publish(catalog, "cars", "c0") == (0, True)
    assert publish(catalog, "cars", "c1") == (1, True)
    assert publish(catalog, "cars", "c1") == (1, False)  # same as the latest: not logged again
    assert publish(catalog, "cars", "c0") == (2, True)  # same as an older one: a new version
    assert publish(catalog, "boats", "c0") == (0, True)  # numbers are per name
    assert [r.version for r in catalog.versions("cars")] == [0, 1, 2]
    assert [r.content for r in catalog.versions("cars")] == ["c0", "c1", "c0"]
    assert catalog.versions("nothing") == []


def test_a_second_type_under_one_name_is_refused_and_nothing_written(
    catalog: BaseCatalog,
) -> None:
    publish(catalog, "cars", "c0", aliases=("best",))
    with pytest.raises(
        ValidationError, match="has type 'dataset'; cannot log a version of type 'model'"
    ):
        publish(catalog, "cars", "c1", type_="model", aliases=("best", "new"))
    assert [r.version for r in catalog.versions("cars")] == [0]
    assert catalog.resolve("cars:best").version == 0
    with pytest.raises(NotFoundError):
        catalog.resolve("cars:new")


def test_resolve_names_versions_aliases_and_latest(catalog: BaseCatalog) -> None:
    publish(catalog, "cars", "c0", aliases=("first",))
    publish(catalog, "cars", "c1", aliases=("best",))
    publish(catalog, "cars", "c2")
    assert catalog.resolve("cars").version == 2
    assert catalog.resolve("cars:latest").version == 2
    assert catalog.resolve("cars:v1").content == "c1"
    assert catalog.resolve("cars:best").version == 1
    assert catalog.resolve("cars:first").aliases == ("first",)
    assert catalog.resolve("cars:v2").aliases == ("latest",)


def test_resolve_errors_name_what_exists(catalog: BaseCatalog) -> None:
    publish(catalog, "cars", "c0", aliases=("best",))
    publish(catalog, "cars", "c1")
    with pytest.raises(
        NotFoundError, match=r"no artifact named 'cats' in the store; did you mean 'cars'\?"
    ):
        catalog.resolve("cats:latest")
    with pytest.raises(NotFoundError) as err:
        catalog.resolve("cars:worst")
    assert str(err.value) == (
        "artifact 'cars' has no version or alias 'worst' (aliases: ['best']; versions: v0..v1)"
    )
    with pytest.raises(
        NotFoundError, match=r"artifact 'cars' has no version v7 \(versions: v0..v1\)"
    ):
        catalog.resolve("cars:v7")
    with pytest.raises(NotFoundError, match=r"has no version v0 \(versions: none\)"):
        catalog.version("boats", 0)
    with pytest.raises(ValidationError):
        catalog.version("cars", 2**63)  # past int64: refused before either database sees it
    assert isinstance(err.value, CommError) and isinstance(err.value, KeyError)


def test_aliases_move_to_the_new_version_at_once(catalog: BaseCatalog) -> None:
    publish(catalog, "cars", "c0", aliases=("best", "prod"))
    publish(catalog, "cars", "c1", aliases=("best",))
    assert catalog.version("cars", 0).aliases == ("prod",)
    assert catalog.version("cars", 1).aliases == ("latest", "best")
    # Logging the same content again moves an alias to the existing version.
    assert publish(catalog, "cars", "c1", aliases=("prod",)) == (1, False)
    assert catalog.version("cars", 0).aliases == ()
    assert catalog.version("cars", 1).aliases == ("latest", "best", "prod")


def test_aliases_never_point_at_two_versions_while_moving(
    catalog: BaseCatalog, location: str
) -> None:
    """A reader polling ``best`` while a writer moves it sees one version at a time, and
    never an alias pointing at a version that is not there yet."""
    publish(catalog, "cars", "c0", aliases=("best",))
    stop = threading.Event()
    seen: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def read() -> None:
        reader = open_catalog(location)
        try:
            while not stop.is_set():
                row = reader.resolve("cars:best")
                seen.append((row.version, len(reader.versions("cars"))))
        except BaseException as exc:
            failures.append(exc)
        finally:
            if hasattr(reader, "close"):
                reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(1, 30):
            publish(catalog, "cars", f"c{i}", aliases=("best",))
    finally:
        stop.set()
        thread.join(60)
    assert not failures
    assert seen, "the reader never ran"
    assert all(version < count for version, count in seen)
    assert catalog.resolve("cars:best").version == 29


def test_names_and_manifests_list_everything_in_code_point_order(
    catalog: BaseCatalog,
) -> None:
    names = ["b", "B", "a_1", "a-1", "a.1", "Zed", "élan"]
    for i, name in enumerate(names):
        publish(catalog, name, f"c{i}", manifest=M0 if i % 2 else M2)
    publish(catalog, "b", "again", manifest=M1)
    # The same order from both databases, whatever PostgreSQL's collation says.
    assert catalog.artifact_names() == sorted(names)
    assert sorted(catalog.manifests()) == sorted(
        [(n, 0, M0 if i % 2 else M2) for i, n in enumerate(names)] + [("b", 1, M1)]
    )


def test_versions_are_contiguous_for_threads_sharing_one_catalog(catalog: BaseCatalog) -> None:
    """Each thread has its own connection; 8 threads × 10 versions of one name."""
    start = threading.Barrier(8)
    got: list[int] = []
    failures: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait(60)
            for i in range(10):
                version, new = publish(catalog, "cars", f"t{t}-{i}")
                assert new
                got.append(version)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures
    assert sorted(got) == list(range(80))
    assert {r.content for r in catalog.versions("cars")} == {
        f"t{t}-{i}" for t in range(8) for i in range(10)
    }


# -- runs, history, lineage -----------------------------------------------------------------


def test_a_run_is_recorded_labelled_finished_and_resumed(catalog: BaseCatalog) -> None:
    before = time.time()
    catalog.start_run(
        "r1",
        "cars",
        "train",
        "first",
        {"lr": 0.1, "bad": math.nan, "when": Path("/x")},
        entity="team",
        notes="n",
        tags=("a", "b"),
        group="g",
        mode="offline",
    )
    rec = catalog.run("r1")
    assert before <= rec.pop("started_at") <= time.time()
    config = rec.pop("config")
    assert config["lr"] == 0.1 and math.isnan(config["bad"]) and config["when"] == "/x"
    assert rec == {
        "id": "r1",
        "project": "cars",
        "job_type": "train",
        "name": "first",
        "finished_at": None,
        "state": "running",
        "entity": "team",
        "notes": "n",
        "tags": ("a", "b"),
        "group": "g",
        "mode": "offline",
        "summary": {},
        "exit_code": None,
    }
    assert catalog.unfinished_runs() == ["r1"]
    catalog.set_run_labels("r1", name="renamed", tags=("c",), group="h", notes="m")
    catalog.set_run_config("r1", {"lr": 0.2})
    catalog.finish_run("r1", "failed", 3)
    rec = catalog.run("r1")
    assert (rec["name"], rec["tags"], rec["group"], rec["notes"]) == ("renamed", ("c",), "h", "m")
    assert rec["config"] == {"lr": 0.2}
    assert (rec["state"], rec["exit_code"]) == ("failed", 3)
    assert rec["finished_at"] >= rec["started_at"]
    assert catalog.unfinished_runs() == []
    catalog.reopen_run("r1", {"project": "boats", "tags": ("d",), "config": {"lr": 0.3}})
    rec = catalog.run("r1")
    assert (rec["state"], rec["finished_at"], rec["exit_code"]) == ("running", None, None)
    assert (rec["project"], rec["tags"], rec["config"], rec["name"]) == (
        "boats",
        ("d",),
        {"lr": 0.3},
        "renamed",
    )


def test_run_ids_are_unique_and_unfinished_runs_newest_first(catalog: BaseCatalog) -> None:
    for run_id in ("old", "mid", "new"):
        catalog.start_run(run_id, None, None, None, {})
    catalog.finish_run("mid")
    with pytest.raises(ValidationError, match="a run with id 'old' exists already"):
        catalog.start_run("old", "p", None, None, {})
    assert catalog.run("old")["project"] is None  # the first record is kept
    assert catalog.unfinished_runs() == ["new", "old"]
    with pytest.raises(NotFoundError, match="no run with id 'nope'"):
        catalog.run("nope")


def test_history_appends_replaces_a_step_and_keeps_the_summary(catalog: BaseCatalog) -> None:
    catalog.start_run("r", None, None, None, {})
    assert catalog.history("r") == [] and catalog.last_step("r") is None
    catalog.write_history(
        "r", [{"_step": 1, "loss": 0.5}, {"_step": 0, "loss": 1.0}], {"loss": 0.5}
    )
    catalog.write_history("r", [{"_step": 1, "loss": 0.4, "acc": math.inf}], {"loss": 0.4})
    catalog.write_history("r", [], {"loss": 0.4, "done": True})
    assert catalog.history("r") == [
        {"_step": 0, "loss": 1.0},
        {"_step": 1, "loss": 0.4, "acc": math.inf},
    ]
    assert catalog.last_step("r") == 1
    assert catalog.run("r")["summary"] == {"loss": 0.4, "done": True}


def test_lineage_records_use_and_production_once(catalog: BaseCatalog) -> None:
    catalog.start_run("maker", None, None, None, {})
    catalog.start_run("user", None, None, None, {})
    publish(catalog, "cars", "c0", run_id="maker")
    assert catalog.version("cars", 0).run_id == "maker"
    publish(catalog, "cars", "c0", run_id="maker")  # same content: no second edge
    catalog.record_use("user", "cars", 0)
    catalog.record_use("user", "cars", 0)
    assert sorted(catalog.lineage_edges()) == [
        ("maker", "cars", 0, "produced"),
        ("user", "cars", 0, "used"),
    ]


# -- opening --------------------------------------------------------------------------------


def test_a_catalog_reopened_elsewhere_sees_everything(catalog: BaseCatalog, location: str) -> None:
    publish(catalog, "cars", "c0", aliases=("best",))
    catalog.start_run("r", "p", None, None, {"a": 1})
    other = open_catalog(location)
    assert other.resolve("cars:best") == catalog.resolve("cars:best")
    assert other.run("r") == catalog.run("r")


def test_machines_opening_a_new_catalog_at_once_all_succeed(location: str) -> None:
    start = threading.Barrier(6)
    opened: list[BaseCatalog] = []
    failures: list[BaseException] = []

    def open_one() -> None:
        try:
            start.wait(60)
            opened.append(open_catalog(location))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures and len(opened) == 6
    publish(opened[0], "cars", "c0")
    assert [c.resolve("cars").version for c in opened] == [0] * 6
    for c in opened:
        if hasattr(c, "close"):
            c.close()


def test_a_catalog_from_a_newer_release_is_refused(location: str) -> None:
    open_catalog(location)
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("UPDATE dsviz_schema SET version = 99")
    else:
        import sqlite3

        db = sqlite3.connect(location)
        db.execute("PRAGMA user_version = 99")
        db.close()
    with pytest.raises(StoreError, match=r"newer dsviz_widget \(schema 99; this one knows 1\)"):
        open_catalog(location)


def test_other_url_schemes_are_refused() -> None:
    from dsviz_widget._errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="a mysql:// catalog is not supported"):
        open_catalog("mysql://db/x")


# -- PostgreSQL only: URLs, credentials, an unreachable server ------------------------------


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with _catalogs.location_for("postgresql", request, tmp_path) as url:
        yield url


def test_postgres_scheme_and_pg_variables_reach_the_same_catalog(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsviz_widget.artifacts._catalog_pg import PostgresCatalog

    first = open_catalog(pg_url)
    publish(first, "cars", "c0")
    second = open_catalog(pg_url.replace("postgresql://", "postgres://", 1))
    assert isinstance(second, PostgresCatalog)
    assert second.resolve("cars").content == "c0"
    host_port, dbname = pg_url.split("@", 1)[1].split("/")
    host, port = host_port.split(":")
    for name, value in {"PGHOST": host, "PGPORT": port, "PGUSER": "postgres"}.items():
        monkeypatch.setenv(name, value)
    third = open_catalog(f"postgresql:///{dbname}")  # everything but the database from PG*
    assert third.resolve("cars").content == "c0"
    for c in (first, second, third):
        assert isinstance(c, PostgresCatalog)
        c.close()


def test_an_unreachable_server_is_a_typed_error_without_the_password() -> None:
    pytest.importorskip("psycopg")
    from dsviz_widget.artifacts._catalog_pg import CatalogServerError
    from tests._servers import HOST, free_ports

    url = f"postgresql://dsviz:s3cret-pw@{HOST}:{free_ports(1)[0]}/team?connect_timeout=5"
    with pytest.raises(CatalogServerError) as err:
        open_catalog(url)
    assert isinstance(err.value, StoreError) and isinstance(err.value, CommError)
    assert err.value.step == "reading the catalog"
    assert "cannot connect to postgresql://dsviz@127.0.0.1:" in str(err.value)
    assert "s3cret-pw" not in str(err.value)


def test_text_postgresql_cannot_hold_is_a_validation_error(pg_url: str) -> None:
    catalog = open_catalog(pg_url)
    with pytest.raises(ValidationError, match=r"starting run 'r': .*NUL"):
        catalog.start_run("r", "p\x00q", None, None, {})
    with pytest.raises(NotFoundError):
        catalog.run("r")
    catalog.start_run("r", "p", None, None, {})  # the connection is usable after it
    assert catalog.run("r")["project"] == "p"


_FORKED = """
import os
import sys
from dsviz_widget.artifacts._catalog_open import open_catalog

catalog = open_catalog(sys.argv[1])
backend = "SELECT pg_backend_pid()"
before = catalog._read(backend)[0][0]
pid = os.fork()
if pid == 0:
    # The child reads through the catalog it inherited, then exits normally (atexit runs).
    assert catalog.resolve("cars").content == "c0"
    os.write(1, f"child {catalog._read(backend)[0][0]}\\n".encode())
    sys.exit(0)
assert os.waitpid(pid, 0)[1] == 0
assert catalog.resolve("cars").content == "c0"
os.write(1, f"parent {before} {catalog._read(backend)[0][0]}\\n".encode())
"""


def test_a_forked_child_gets_its_own_connection_and_leaves_the_parents(pg_url: str) -> None:
    publish(open_catalog(pg_url), "cars", "c0")
    proc = _catalogs.child(_FORKED, pg_url)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    child, parent = sorted(out.splitlines())
    _, before, after = parent.split()
    assert before == after  # the parent's session survived the child's exit
    assert child.split()[1] != before  # the child did not talk over the parent's socket


def test_stores_in_two_schemas_of_one_database_are_apart(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA team_a")
        conn.execute("CREATE SCHEMA team_b")
    a = open_catalog(f"{pg_url}?options=-csearch_path%3Dteam_a")
    b = open_catalog(f"{pg_url}?options=-csearch_path%3Dteam_b")
    publish(a, "cars", "in-a")
    publish(b, "cars", "in-b")
    publish(b, "cars", "in-b-2")
    assert [r.content for r in a.versions("cars")] == ["in-a"]
    assert [r.content for r in b.versions("cars")] == ["in-b", "in-b-2"]
    saved = threading.Event()

    def save_in_b() -> None:
        with b.hold_saving():
            saved.set()

    with a.hold_exclusive():  # each schema's save / gc lock is its own
        thread = threading.Thread(target=save_in_b, daemon=True)
        thread.start()
        assert saved.wait(30), "a save in team_b waited for gc in team_a"
    thread.join(30)
