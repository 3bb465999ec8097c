"""What every catalog does, in SQL both SQLite and PostgreSQL run: versions, aliases, runs,
history and lineage.

:class:`BaseCatalog` holds every public method of a catalog; a backend (``_catalog.Catalog``
for SQLite, ``_catalog_pg.PostgresCatalog``) supplies the connection, the transaction, the
per-name serialisation of :meth:`BaseCatalog.publish` and the store's save / gc lock. So the
rules (contiguous version numbers, "same content is not a new version", alias moves, run
records) are written once and cannot drift apart between the two stores.

The SQL here uses ``?`` placeholders and keeps to what both engines understand
(``INSERT … ON CONFLICT``, no engine-specific types or functions); no statement has a ``?``
or a ``%`` inside a literal, so a backend may translate placeholders textually. Text is
ordered in Python, not by the database: SQLite compares bytes, PostgreSQL by the database's
collation, and the two must list names in the same order.
"""

from __future__ import annotations

import difflib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget._names import check_version, parse_version_tag


class Cursor(Protocol):
    """The part of a DB-API cursor the queries use."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    """A connection inside a write transaction (``sqlite3.Connection`` is one as it is)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


RUN_FIELDS = (
    "id, project, job_type, name, config, started_at, finished_at, state, "
    "entity, notes, tags, group_name, mode, summary, exit_code"
)


def dumps(value: Any) -> str:
    """JSON text of a config, summary or history row. NaN and infinities are kept (Python's
    JSON reads them back), and anything else that is not JSON becomes its ``str``."""
    return json.dumps(value, default=str)


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


class BaseCatalog(ABC):
    """Artifacts, versions, aliases, runs, history and lineage, over a backend's SQL."""

    # -- what a backend supplies -----------------------------------------------------------
    @abstractmethod
    def _write(self, step: str) -> AbstractContextManager[Transaction]:
        """One write transaction: committed when the block ends, rolled back on an error.
        ``step`` says what it is for, for the error a failure raises."""

    @abstractmethod
    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query, outside any transaction."""

    @abstractmethod
    def _serialise_name(self, db: Transaction, artifact: str) -> None:
        """Make the rest of ``db``'s transaction the only one publishing ``artifact`` until it
        ends, and let it see every version committed before: the next number is read and
        taken inside it."""

    @abstractmethod
    def hold_saving(self) -> AbstractContextManager[None]:
        """Shared for the whole of a save; see :meth:`hold_exclusive`."""

    @abstractmethod
    def hold_exclusive(self) -> AbstractContextManager[None]:
        """Exclusive, for ``gc``: waits for saves in progress and keeps new ones out."""

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
        with self._write(f"publishing a version of {artifact!r}") as db:
            self._serialise_name(db, artifact)
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
                    "INSERT INTO lineage VALUES (?, ?, ?, 'produced', ?) ON CONFLICT DO NOTHING",
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
        # (the lineage widget's messages), and both databases refuse integers past int64.
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
        return sorted(r[0] for r in self._read("SELECT name FROM artifacts"))

    def manifests(self) -> list[tuple[str, int, str]]:
        return [
            (r[0], r[1], r[2])
            for r in self._read("SELECT artifact, version, manifest FROM versions")
        ]

    def _max_version(self, artifact: str) -> int | None:
        rows = self._read("SELECT MAX(version) FROM versions WHERE artifact = ?", (artifact,))
        return rows[0][0] if rows else None

    def _close_names(self, name: str) -> list[str]:
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
        with self._write(f"starting run {run_id!r}") as db:
            # ON CONFLICT, not a SELECT first: two machines starting the same id at once must
            # not both succeed, and the loser must get this error, not a constraint violation.
            inserted = db.execute(
                f"INSERT INTO runs ({RUN_FIELDS}) "
                "VALUES (?, ?, ?, ?, ?, ?, NULL, 'running', ?, ?, ?, ?, ?, '{}', NULL) "
                "ON CONFLICT (id) DO NOTHING",
                (
                    run_id,
                    project,
                    job_type,
                    name,
                    dumps(config),
                    time.time(),
                    entity,
                    notes,
                    json.dumps(list(tags)),
                    group,
                    mode,
                ),
            ).rowcount
            if inserted != 1:
                raise ValidationError(f"a run with id {run_id!r} exists already")

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
                value = dumps(value)
            args.append(value)
        with self._write(f"resuming run {run_id!r}") as db:
            db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))

    def finish_run(
        self, run_id: str, state: str = "finished", exit_code: int | None = None
    ) -> None:
        with self._write(f"finishing run {run_id!r}") as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, state = ?, exit_code = ? WHERE id = ?",
                (time.time(), state, exit_code, run_id),
            )

    def set_run_config(self, run_id: str, config: dict[str, Any]) -> None:
        with self._write(f"storing the config of run {run_id!r}") as db:
            db.execute("UPDATE runs SET config = ? WHERE id = ?", (dumps(config), run_id))

    def set_run_labels(self, run_id: str, **labels: Any) -> None:
        """Change ``name``, ``notes``, ``tags`` or ``group`` of a run."""
        columns = {"group": "group_name"}
        sets = [f"{columns.get(k, k)} = ?" for k in labels]
        args = [json.dumps(list(v)) if k == "tags" else v for k, v in labels.items()]
        with self._write(f"labelling run {run_id!r}") as db:
            db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))

    def write_history(
        self, run_id: str, rows: list[dict[str, Any]], summary: dict[str, Any]
    ) -> None:
        """Append history rows (each with its ``_step``) and store the summary, atomically."""
        with self._write(f"storing the history of run {run_id!r}") as db:
            if rows:
                db.executemany(
                    "INSERT INTO history VALUES (?, ?, ?) "
                    "ON CONFLICT (run_id, step) DO UPDATE SET row = excluded.row",
                    [(run_id, row["_step"], dumps(row)) for row in rows],
                )
            db.execute("UPDATE runs SET summary = ? WHERE id = ?", (dumps(summary), run_id))

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
        with self._write(f"recording that run {run_id!r} used {artifact}:v{version}") as db:
            db.execute(
                "INSERT INTO lineage VALUES (?, ?, ?, 'used', ?) ON CONFLICT DO NOTHING",
                (run_id, artifact, version, time.time()),
            )

    def run(self, run_id: str) -> dict[str, Any]:
        """A run's record: labels, ``config`` and ``summary`` (dicts), times and state."""
        rows = self._read(f"SELECT {RUN_FIELDS} FROM runs WHERE id = ?", (run_id,))
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
