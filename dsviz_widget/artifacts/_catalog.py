"""The catalog: one SQLite database of artifacts, versions, aliases, runs, history and lineage.

A version becomes visible in one SQLite transaction (``BEGIN IMMEDIATE``), after all of
its files are stored. Writers in any number of threads and processes serialise on that
short transaction, each computing the next version number inside it, so no two writers
get the same number and none is lost. WAL mode lets readers proceed during writes.

The schema is versioned with SQLite's ``user_version`` (``SCHEMA_VERSION``). Opening a
catalog brings an older one up to date in one transaction (:func:`_migrate`), adding
tables and columns and never rewriting a row; a catalog from a newer release is refused
rather than written with rules it does not follow.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsviz_widget._errors import NotFoundError, StoreError, ValidationError, store_error
from dsviz_widget._names import check_version, parse_version_tag
from dsviz_widget.artifacts._objects import open_nofollow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    artifact TEXT NOT NULL REFERENCES artifacts(name),
    version INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    content TEXT NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    size INTEGER NOT NULL,
    run_id TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (artifact, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    artifact TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (artifact, alias)
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    project TEXT,
    job_type TEXT,
    name TEXT,
    config TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lineage (
    run_id TEXT NOT NULL,
    artifact TEXT NOT NULL,
    version INTEGER NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('used', 'produced')),
    at REAL NOT NULL,
    PRIMARY KEY (run_id, artifact, version, direction)
);
"""

#: ``PRAGMA user_version`` of a catalog this module writes. 0: the first schema (no history,
#: runs without labels or summary); 1: ``runs`` gains the columns of ``_RUN_COLUMNS_V1`` and
#: the ``history`` table holds one JSON row per logged step.
SCHEMA_VERSION = 1

#: Columns added to ``runs`` by schema 1: (name, SQL declaration). Nullable or defaulted, so
#: ``ALTER TABLE ADD COLUMN`` fills the rows of older runs without touching them.
_RUN_COLUMNS_V1 = (
    ("entity", "TEXT"),
    ("notes", "TEXT"),
    ("tags", "TEXT NOT NULL DEFAULT '[]'"),
    ("group_name", "TEXT"),
    ("mode", "TEXT NOT NULL DEFAULT 'online'"),
    ("summary", "TEXT NOT NULL DEFAULT '{}'"),
    ("exit_code", "INTEGER"),
)

_HISTORY_V1 = """
CREATE TABLE IF NOT EXISTS history (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
)
"""

_RUN_FIELDS = (
    "id, project, job_type, name, config, started_at, finished_at, state, "
    "entity, notes, tags, group_name, mode, summary, exit_code"
)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the catalog to ``SCHEMA_VERSION`` inside the caller's write transaction.

    Every step is idempotent (columns are added only when ``table_info`` lacks them), so a
    crash between two steps, or two processes opening an old store at once, ends at the same
    schema. Nothing is copied or rewritten: existing rows keep every value they had.
    """
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"the catalog was written by a newer dsviz_widget (schema {found}; this one "
            f"knows {SCHEMA_VERSION}); upgrade dsviz_widget to open it"
        )
    if found == SCHEMA_VERSION:
        return
    have = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    for column, declaration in _RUN_COLUMNS_V1:
        if column not in have:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} {declaration}")
    db.execute(_HISTORY_V1)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _dumps(value: Any) -> str:
    """JSON text of a config, summary or history row. NaN and infinities are kept (Python's
    JSON reads them back), and anything else that is not JSON becomes its ``str``."""
    return json.dumps(value, default=str)


def _rollback(db: sqlite3.Connection) -> None:
    """End a failed transaction. SQLite may have rolled back already (a full disk or an I/O
    error does), and that must not replace the error being reported."""
    if db.in_transaction:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")


@dataclass(frozen=True)
class VersionRow:
    artifact: str
    type: str
    version: int
    manifest: str
    content: str
    description: str | None
    metadata: dict[str, Any]
    size: int
    run_id: str | None
    created_at: float
    aliases: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.artifact}:v{self.version}"


class Catalog:
    """Thin typed access to ``catalog.sqlite``; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        db = self._connect()
        try:
            db.executescript(_SCHEMA)  # CREATE IF NOT EXISTS: safe to race with other processes
        except sqlite3.Error as exc:
            raise store_error(f"cannot create the catalog {self.path}", exc) from exc
        if self._read("PRAGMA user_version")[0][0] != SCHEMA_VERSION:
            with self._write() as db:  # BEGIN IMMEDIATE: one process migrates, the others see it
                _migrate(db)

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=120.0, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA busy_timeout=120000")
            except sqlite3.Error as exc:
                raise store_error(f"cannot open the catalog {self.path}", exc) from exc
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_error(f"cannot write the catalog {self.path}", exc) from exc
        try:
            yield db
        except sqlite3.Error as exc:
            _rollback(db)
            raise store_error(f"cannot write the catalog {self.path}", exc) from exc
        except BaseException:
            _rollback(db)
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(db)
                raise store_error(f"cannot commit to the catalog {self.path}", exc) from exc

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._connect().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise store_error(f"cannot read the catalog {self.path}", exc) from exc

    # -- the store's save / gc lock ------------------------------------------------------
    @contextmanager
    def hold_saving(self) -> Iterator[None]:
        """Shared for the whole of a save; see :meth:`hold_exclusive`."""
        with _flock(self.path.parent / "gc.lock", fcntl.LOCK_SH):
            yield

    @contextmanager
    def hold_exclusive(self) -> Iterator[None]:
        """Exclusive, for ``gc``: waits for saves in progress and keeps new ones out."""
        with _flock(self.path.parent / "gc.lock", fcntl.LOCK_EX):
            yield

    # -- versions ----------------------------------------------------------------------------
    def publish(
        self,
        artifact: str,
        type_: str,
        manifest: str,
        content: str,
        description: str | None,
        metadata: dict[str, Any],
        size: int,
        run_id: str | None,
        aliases: list[str],
    ) -> tuple[VersionRow, bool]:
        """Insert the next version (or find that the latest has the same content).

        Returns the version and whether it is new.
        """
        now = time.time()
        with self._write() as db:
            row = db.execute("SELECT type FROM artifacts WHERE name = ?", (artifact,)).fetchone()
            if row is None:
                db.execute("INSERT INTO artifacts VALUES (?, ?, ?)", (artifact, type_, now))
            elif row[0] != type_:
                raise ValidationError(
                    f"artifact {artifact!r} has type {row[0]!r}; cannot log a version of type {type_!r}"
                )
            latest = db.execute(
                "SELECT version, content FROM versions WHERE artifact = ? ORDER BY version DESC LIMIT 1",
                (artifact,),
            ).fetchone()
            created = not (latest is not None and latest[1] == content)
            if created:
                version = 0 if latest is None else latest[0] + 1
                db.execute(
                    "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        artifact,
                        version,
                        manifest,
                        content,
                        description,
                        json.dumps(metadata),
                        size,
                        run_id,
                        now,
                    ),
                )
            else:
                version = latest[0]
            for alias in aliases:
                db.execute(
                    "INSERT INTO aliases VALUES (?, ?, ?) ON CONFLICT (artifact, alias) DO UPDATE SET version = excluded.version",
                    (artifact, alias, version),
                )
            if run_id is not None:
                db.execute(
                    "INSERT OR IGNORE INTO lineage VALUES (?, ?, ?, 'produced', ?)",
                    (run_id, artifact, version, now),
                )
        return self.version(artifact, version), created

    def resolve(self, spec: str) -> VersionRow:
        """``name``, ``name:latest``, ``name:v3`` or ``name:<alias>`` -> the version row."""
        name, _, tag = spec.partition(":")
        tag = tag or "latest"
        known = self._read("SELECT 1 FROM artifacts WHERE name = ?", (name,))
        if not known:
            close = self._close_names(name)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise NotFoundError(f"no artifact named {name!r} in the store{hint}")
        if tag == "latest":
            rows = self._read("SELECT MAX(version) FROM versions WHERE artifact = ?", (name,))
            return self.version(name, rows[0][0])
        number = parse_version_tag(tag)
        if number is not None:
            return self.version(name, number)
        rows = self._read(
            "SELECT version FROM aliases WHERE artifact = ? AND alias = ?", (name, tag)
        )
        if not rows:
            have = [
                r[0] for r in self._read("SELECT alias FROM aliases WHERE artifact = ?", (name,))
            ]
            raise NotFoundError(
                f"artifact {name!r} has no version or alias {tag!r} (aliases: {sorted(have) or 'none'}; "
                f"versions: v0..v{self._max_version(name)})"
            )
        return self.version(name, rows[0][0])

    def version(self, artifact: str, version: int) -> VersionRow:
        # Checked here, not only where tags are parsed: callers pass numbers from anywhere
        # (the lineage widget's messages), and SQLite raises a raw OverflowError past int64.
        check_version(version, what=f"version of {artifact!r}")
        rows = self._read(
            "SELECT v.artifact, a.type, v.version, v.manifest, v.content, v.description, v.metadata, "
            "v.size, v.run_id, v.created_at FROM versions v JOIN artifacts a ON a.name = v.artifact "
            "WHERE v.artifact = ? AND v.version = ?",
            (artifact, version),
        )
        if not rows:
            top = self._max_version(artifact)
            have = f"v0..v{top}" if top is not None else "none"
            raise NotFoundError(
                f"artifact {artifact!r} has no version v{version} (versions: {have})"
            )
        r = rows[0]
        aliases = tuple(
            sorted(
                a[0]
                for a in self._read(
                    "SELECT alias FROM aliases WHERE artifact = ? AND version = ?",
                    (artifact, version),
                )
            )
        )
        if self._max_version(artifact) == version:
            aliases = ("latest", *aliases)
        return VersionRow(
            r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9], aliases
        )

    def versions(self, artifact: str) -> list[VersionRow]:
        rows = self._read(
            "SELECT version FROM versions WHERE artifact = ? ORDER BY version", (artifact,)
        )
        return [self.version(artifact, r[0]) for r in rows]

    def artifact_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM artifacts ORDER BY name")]

    def manifests(self) -> list[tuple[str, int, str]]:
        return [
            (r[0], r[1], r[2])
            for r in self._read("SELECT artifact, version, manifest FROM versions")
        ]

    def _max_version(self, artifact: str) -> int | None:
        rows = self._read("SELECT MAX(version) FROM versions WHERE artifact = ?", (artifact,))
        return rows[0][0] if rows else None

    def _close_names(self, name: str) -> list[str]:
        import difflib

        return difflib.get_close_matches(name, self.artifact_names(), n=3)

    # -- runs, history and lineage -----------------------------------------------------------
    def start_run(
        self,
        run_id: str,
        project: str | None,
        job_type: str | None,
        name: str | None,
        config: dict[str, Any],
        *,
        entity: str | None = None,
        notes: str | None = None,
        tags: tuple[str, ...] = (),
        group: str | None = None,
        mode: str = "online",
    ) -> None:
        """Record a new run, ``running``. A run id that exists already is an error."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise ValidationError(f"a run with id {run_id!r} exists already")
            db.execute(
                f"INSERT INTO runs ({_RUN_FIELDS}) "
                "VALUES (?, ?, ?, ?, ?, ?, NULL, 'running', ?, ?, ?, ?, ?, '{}', NULL)",
                (
                    run_id,
                    project,
                    job_type,
                    name,
                    _dumps(config),
                    time.time(),
                    entity,
                    notes,
                    json.dumps(list(tags)),
                    group,
                    mode,
                ),
            )

    def reopen_run(self, run_id: str, labels: dict[str, Any]) -> None:
        """Mark a run ``running`` again (resumed); ``labels`` replace the stored ones given.

        ``labels`` may hold ``project``, ``job_type``, ``name``, ``entity``, ``notes``,
        ``tags`` (a tuple), ``group`` and ``config`` (a dict).
        """
        columns = {"group": "group_name"}
        sets, args = ["state = 'running'", "finished_at = NULL", "exit_code = NULL"], []
        for key, value in labels.items():
            sets.append(f"{columns.get(key, key)} = ?")
            if key == "tags":
                value = json.dumps(list(value))
            elif key == "config":
                value = _dumps(value)
            args.append(value)
        with self._write() as db:
            db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))

    def finish_run(
        self, run_id: str, state: str = "finished", exit_code: int | None = None
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, state = ?, exit_code = ? WHERE id = ?",
                (time.time(), state, exit_code, run_id),
            )

    def set_run_config(self, run_id: str, config: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET config = ? WHERE id = ?", (_dumps(config), run_id))

    def set_run_labels(self, run_id: str, **labels: Any) -> None:
        """Change ``name``, ``notes``, ``tags`` or ``group`` of a run."""
        columns = {"group": "group_name"}
        sets = [f"{columns.get(k, k)} = ?" for k in labels]
        args = [json.dumps(list(v)) if k == "tags" else v for k, v in labels.items()]
        with self._write() as db:
            db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))

    def write_history(
        self, run_id: str, rows: list[dict[str, Any]], summary: dict[str, Any]
    ) -> None:
        """Append history rows (each with its ``_step``) and store the summary, atomically."""
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO history VALUES (?, ?, ?)",
                [(run_id, row["_step"], _dumps(row)) for row in rows],
            )
            db.execute("UPDATE runs SET summary = ? WHERE id = ?", (_dumps(summary), run_id))

    def history(self, run_id: str) -> list[dict[str, Any]]:
        """The run's history rows in step order."""
        return [
            json.loads(r[0])
            for r in self._read("SELECT row FROM history WHERE run_id = ? ORDER BY step", (run_id,))
        ]

    def last_step(self, run_id: str) -> int | None:
        rows = self._read("SELECT MAX(step) FROM history WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def unfinished_runs(self) -> list[str]:
        """Ids of runs still marked ``running`` (their process died), newest first."""
        return [
            r[0]
            for r in self._read(
                "SELECT id FROM runs WHERE state = 'running' ORDER BY started_at DESC"
            )
        ]

    def record_use(self, run_id: str, artifact: str, version: int) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO lineage VALUES (?, ?, ?, 'used', ?)",
                (run_id, artifact, version, time.time()),
            )

    def run(self, run_id: str) -> dict[str, Any]:
        """A run's record: labels, ``config`` and ``summary`` (dicts), times and state."""
        rows = self._read(f"SELECT {_RUN_FIELDS} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"no run with id {run_id!r}")
        r = rows[0]
        return {
            "id": r[0],
            "project": r[1],
            "job_type": r[2],
            "name": r[3],
            "config": json.loads(r[4]),
            "started_at": r[5],
            "finished_at": r[6],
            "state": r[7],
            "entity": r[8],
            "notes": r[9],
            "tags": tuple(json.loads(r[10])),
            "group": r[11],
            "mode": r[12],
            "summary": json.loads(r[13]),
            "exit_code": r[14],
        }

    def lineage_edges(self) -> list[tuple[str, str, int, str]]:
        return [
            (r[0], r[1], r[2], r[3])
            for r in self._read("SELECT run_id, artifact, version, direction FROM lineage")
        ]


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    try:
        # Not open(): a lock file replaced by a link must not create or lock a file elsewhere.
        fd = open_nofollow(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    except OSError as exc:
        if isinstance(exc, StoreError):
            raise
        raise store_error(f"cannot open the store's lock file {path}", exc) from exc
    with open(fd, "r+b") as f:
        fcntl.flock(f.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
