"""Runs: ``init`` / ``Run`` / ``log`` / ``log_artifact`` / ``use_artifact``.

A run is one execution of a job (creating a dataset, training, evaluating). Logging an
artifact from a run records that the run produced that version; using one records that
it consumed it. ``run.log`` writes the run's history (one row per step) and its summary;
``run.config`` holds its settings. All of it is stored in the catalog, so a run can be read
back, and resumed, from another process. Module-level functions act on the current run,
starting one on demand. The lineage graph of runs and versions is ``_lineage_graph``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any, cast

import pandas as pd

from dsviz_widget import _run_init
from dsviz_widget._errors import NotFoundError, UsageError, ValidationError
from dsviz_widget._names import check_spec as _check_spec
from dsviz_widget._run_config import Config
from dsviz_widget._run_history import RUNTIME, Steps, check_log_args, columns_of, flatten, scalar
from dsviz_widget._run_media import is_loggable_media, log_media
from dsviz_widget._run_summary import Summary
from dsviz_widget.artifacts import Artifact, Store, VerifyReport, open_store, resolve_cache_size
from dsviz_widget.artifacts._artifact import set_current_run_lookup
from dsviz_widget.artifacts._store import GcReport
from dsviz_widget.table import Table

_current: Run | None = None
#: Runs started in this process and not finished (``reinit="create_new"`` makes several).
_active: list[Run] = []
_lock = threading.RLock()
#: History rows are written in batches, at most this many seconds apart (and at finish):
#: a transaction per ``log`` call (a few ms with a full sync) would slow a training loop.
WRITE_INTERVAL = 1.0


class Run:
    """One execution of a job. Create it with :func:`init`; also a context manager.

    Examples
    --------
    >>> import tempfile
    >>> with init(project="cars", job_type="train", config={"lr": 0.1}, dir=tempfile.mkdtemp()) as run:
    ...     run.log({"loss": 0.5})
    ...     run.config.lr, run.summary["loss"]
    (0.1, 0.5)
    """

    def __init__(
        self,
        store: Store,
        project: str | None = None,
        job_type: str | None = None,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        *,
        entity: str | None = None,
        notes: str | None = None,
        tags: Sequence[str] | None = None,
        group: str | None = None,
        mode: str = "online",
        id: str | None = None,
        resume_from: dict[str, Any] | None = None,
        allow_val_change: bool = False,
    ) -> None:
        labels = {"project": project, "job_type": job_type, "name": name, "entity": entity,
                  "notes": notes, "group": group}  # fmt: skip
        for label, value in labels.items():
            _run_init.check_label(label, value)
        tag_tuple = _run_init.tags_of(tags)
        self.store = store
        self.id = _run_init.check_run_id(id) if id is not None else uuid.uuid4().hex[:16]
        self.mode = mode
        self.finished = False
        self._lock = threading.RLock()
        self._pending: list[dict[str, Any]] = []
        self._written_at = time.monotonic()
        given: dict[str, Any] = {k: v for k, v in labels.items() if v is not None}
        if tag_tuple is not None:
            given["tags"] = tag_tuple
        if resume_from is None:
            self.resumed = False
            self.config = Config(config, self._save_config, allow_val_change)
            store.catalog.start_run(
                self.id, project, job_type, name, self.config.as_dict(), entity=entity,
                notes=notes, tags=tag_tuple or (), group=group, mode=mode,
            )  # fmt: skip
            record = store.catalog.run(self.id)
            start_step, runtime_before = 0, 0.0
        else:
            if project is not None and resume_from["project"] not in (None, project):
                raise ValidationError(
                    f"run {self.id!r} belongs to project {resume_from['project']!r}, not {project!r}"
                )
            self.resumed = True
            # As in W&B, the stored config wins over init's for keys both have.
            merged = {**Config(config).as_dict(), **resume_from["config"]}
            self.config = Config(merged, self._save_config, allow_val_change)
            store.catalog.reopen_run(self.id, {**given, "config": merged})
            record = store.catalog.run(self.id)
            last = store.catalog.last_step(self.id)
            start_step = 0 if last is None else last + 1
            runtime_before = float(record["summary"].get(RUNTIME) or 0.0)
        # The catalog's time, so run.name and the lineage graph name an unnamed run alike.
        self.start_time: float = record["started_at"]
        self.project, self.job_type, self.entity = (
            record["project"],
            record["job_type"],
            record["entity"],
        )
        self._name, self._notes, self._tags = record["name"], record["notes"], record["tags"]
        self.group = record["group"]
        self.summary = Summary(record["summary"], self._save_summary)
        self._steps = Steps(start_step, runtime_before)
        self.starting_step = start_step

    # -- labels ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The run's display name: the one given, else its job type and start time
        (``"train · 2026-11-30 14:02"``, see :func:`_run_init.default_name`; W&B makes up two
        words). Never None; :attr:`id` stays the run's unique id."""
        return self._name or _run_init.default_name(self.job_type, self.start_time)

    @name.setter
    def name(self, value: str) -> None:
        self._set_label("name", value)

    @property
    def notes(self) -> str | None:
        return cast("str | None", self._notes)

    @notes.setter
    def notes(self, value: str) -> None:
        self._set_label("notes", value)

    @property
    def tags(self) -> tuple[str, ...]:
        return cast("tuple[str, ...]", self._tags)

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._set_label("tags", value)

    def _set_label(self, label: str, value: Any) -> None:
        self._check_active(f"set {label}")
        if label == "tags":
            value = _run_init.tags_of(value) or ()
        else:
            _run_init.check_label(label, value)
        self.store.catalog.set_run_labels(self.id, **{label: value})
        setattr(self, f"_{label}", value)

    @property
    def path(self) -> str:
        """``entity/project/id`` (the parts that are set), as W&B names a run."""
        return "/".join(p for p in (self.entity, self.project, self.id) if p)

    @property
    def dir(self) -> str:
        """The store's local directory (W&B: the run's files directory); for an ``s3://``
        store, its working directory on this machine."""
        return str(self.store.workdir)

    @property
    def step(self) -> int:
        """The step the next ``log`` call writes to."""
        return self._steps.step

    @property
    def offline(self) -> bool:
        return self.mode == "offline"

    @property
    def disabled(self) -> bool:
        return self.mode == "disabled"

    @property
    def url(self) -> None:
        """No web page: runs are local (W&B: the run's page on wandb.ai)."""
        return None

    # -- history -----------------------------------------------------------------------------
    def log(
        self, data: dict[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Add values to the run's history and summary, with W&B's step rules.

        Parameters
        ----------
        data : dict
            Numbers, strings, bools (numpy scalars too), lists or dicts of them (nested
            dicts become ``outer.inner`` keys); a ``dv.Table`` (logged as the artifact
            ``run-<id>-<key>``, type ``run_table``), or ``dv.Image`` / ``dv.Audio`` or a
            list of them (artifact ``run-<id>-<key>``, type ``run_media``).
        step : int, optional
            The step to log to. Default: the current step, which each committed call
            advances by one. A step below the current one is dropped with a warning.
        commit : bool, optional
            Close the step after this call. Default: True without ``step``, else False (the
            step closes when a later call moves past it, or at finish).

        Examples
        --------
        >>> import tempfile
        >>> run = init(dir=tempfile.mkdtemp())
        >>> run.log({"loss": 0.5}, commit=False)
        >>> run.log({"acc": 0.9})
        >>> run.log({"loss": 0.4})
        >>> run.history().to_pandas()[["_step", "loss", "acc"]].to_dict("list")
        {'_step': [0, 1], 'loss': [0.5, 0.4], 'acc': [0.9, nan]}
        >>> run.finish()
        """
        self._check_active("log")
        check_log_args(data, step, commit)
        at = None if step is None else int(step)
        with self._lock:
            if at is not None and at < self._steps.step:
                self._steps.log(dict.fromkeys(data), at, commit)  # warns, drops
                return
            # Plain values are converted first, so a bad one stops the call before any
            # table or image is stored.
            values = {k: scalar(v, k) for k, v in data.items() if not is_loggable_media(v)}
            for key, value in data.items():
                if is_loggable_media(value):
                    values[key] = log_media(self.id, key, value, self._log_artifact)
            values.pop("_step", None)  # W&B ignores a logged _step: the run owns the steps
            self._add(self._steps.log(flatten(values), at, commit))

    def _add(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.summary._logged(row)
        self._pending.extend(rows)
        if self._pending and time.monotonic() - self._written_at >= WRITE_INTERVAL:
            self._write()

    def _write(self) -> None:
        with self._lock:
            self.store.catalog.write_history(self.id, self._pending, self.summary._as_dict())
            self._pending = []
            self._written_at = time.monotonic()

    def _save_summary(self, _: dict[str, Any]) -> None:
        self._check_active("change the summary")
        self._write()

    def _save_config(self, config: dict[str, Any]) -> None:
        self._check_active("change the config")
        self.store.catalog.set_run_config(self.id, config)

    def history(self, keys: Sequence[str] | None = None, pandas: bool = False) -> Any:
        """The run's history: a ``dv.Table`` with ``_step``, each logged key, ``_runtime``
        and ``_timestamp``, one row per closed step.

        ``keys`` keeps only those columns (with ``_step``); ``pandas=True`` returns a
        DataFrame, as W&B's ``Api().run(...).history()`` does.
        """
        with self._lock:
            if self._pending:
                self._write()
            return read_history(self.store, self.id, keys, pandas)

    # -- artifacts ---------------------------------------------------------------------------
    def log_artifact(self, artifact: Artifact, aliases: list[str] | None = None) -> Artifact:
        """Store ``artifact`` as its next version (v0, v1, ...) and return it, now logged.

        If its content equals the latest version's, no new version is made: the artifact
        is bound to that version (and ``aliases`` move to it).
        """
        self._check_active("log_artifact")
        return self._log_artifact(artifact, aliases)

    def _log_artifact(self, artifact: Artifact, aliases: list[str] | None = None) -> Artifact:
        if not isinstance(artifact, Artifact):
            raise ValidationError(
                f"log_artifact takes a dv.Artifact, got {type(artifact).__name__}"
            )
        if isinstance(aliases, str):
            aliases = [aliases]
        artifact._save(self.store, list(aliases or []), self.id)
        return artifact

    def use_artifact(self, artifact_or_name: str | Artifact, type: str | None = None) -> Artifact:
        """Open a logged version (``"name"``, ``"name:v3"``, ``"name:latest"``, ``"name:<alias>"``)
        and record that this run used it. ``type``, if given, must be the artifact's type."""
        self._check_active("use_artifact")
        if isinstance(artifact_or_name, Artifact):
            if artifact_or_name.is_draft():
                raise ValidationError(
                    f"artifact {artifact_or_name.name!r} is not logged yet; log it first"
                )
            spec = artifact_or_name.qualified_name
        elif isinstance(artifact_or_name, str):
            spec = artifact_or_name
        else:
            raise ValidationError(
                f"use_artifact takes a name like 'my-dataset:v1', got {artifact_or_name!r}"
            )
        row = self.store.catalog.resolve(_check_spec(spec))
        if type is not None and type != row.type:
            raise ValidationError(
                f"artifact {row.artifact!r} has type {row.type!r}, not {type!r} (use_artifact type=)"
            )
        self.store.catalog.record_use(self.id, row.artifact, row.version)
        return Artifact._from_row(self.store, row)

    # -- ending ------------------------------------------------------------------------------
    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Close the last step, store the summary and mark the run finished (``exit_code``
        other than 0: failed). Later calls do nothing. ``quiet`` is accepted for W&B."""
        with self._lock:
            if self.finished:
                return
            self._pending.extend(self._steps.close())
            for row in self._pending:
                self.summary._logged(row)
            self.summary._as_dict()[RUNTIME] = self._steps.runtime()
            self._write()
            state = "finished" if not exit_code else "failed"
            self.store.catalog.finish_run(self.id, state, exit_code)
            self.finished = True
        _forget(self)

    def _check_active(self, call: str) -> None:
        if self.finished:
            raise UsageError(
                f"run {self.id!r} is finished: cannot {call}. Start another run with dv.init() "
                f"(or resume this one: dv.init(id={self.id!r}, resume='allow'))"
            )

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(1 if exc_type is not None else 0)

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, project={self.project!r}, job_type={self.job_type!r}, store={self.store.location!r})"


def _forget(run: Run) -> None:
    global _current
    with _lock:
        if run in _active:
            _active.remove(run)
        if _current is run:
            _current = None


def read_history(
    store: Store, run_id: str, keys: Sequence[str] | None = None, pandas: bool = False
) -> Any:
    """The stored history of a run (see :meth:`Run.history`), from any process."""
    store.catalog.run(run_id)  # NotFoundError naming the id
    names, rows = columns_of(store.catalog.history(run_id))
    if keys is not None:
        missing = [k for k in keys if k not in names]
        if missing:
            raise NotFoundError(f"run {run_id!r} logged no {missing} (keys: {names})")
        keep = [0, *(names.index(k) for k in keys if k != "_step")]
        names, rows = [names[i] for i in keep], [[r[i] for i in keep] for r in rows]
    if pandas:
        return pd.DataFrame(rows, columns=names)
    return Table(columns=names, data=rows)


def init(
    project: str | None = None,
    job_type: str | None = None,
    name: str | None = None,
    config: Any = None,
    dir: str | os.PathLike[str] | None = None,
    *,
    entity: str | None = None,
    id: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    group: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    mode: str | None = None,
    allow_val_change: bool | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    cache_size: int | str | None = None,
    **wandb_only: Any,
) -> Run:
    """Start a run and make it current (``dv.run``, ``dv.config``, ``dv.summary``, ``dv.log``).

    Parameters
    ----------
    project, job_type, name, entity, notes, group : str, optional
        Labels stored with the run. Without a name, ``run.name`` and lineage graphs call the
        run by its job type and start time, ``"train · 2026-11-30 14:02"``.
    config : dict, argparse.Namespace, absl flags or YAML path, optional
        Settings, stored with the run as ``run.config`` (over ``config-defaults.yaml`` in
        the working directory, if there is one).
    dir : path or ``"s3://bucket/prefix"``, optional
        The store: a local directory, or objects in an S3-compatible bucket (endpoint and
        credentials from ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...); default
        ``$DSVIZ_DIR``, else ``~/.dsviz``.
    catalog : path or ``"postgresql://..."``, optional
        The store's catalog: default ``$DSVIZ_CATALOG`` (for the default store and ``s3://``
        ones), else ``<dir>/catalog.sqlite``. An ``s3://`` store needs one: a PostgreSQL URL
        for a team, or a local SQLite path for one machine (docs/team-store.md).
    cache_size : int or str, optional
        For an ``s3://`` store: the bound of this machine's read cache of fetched objects,
        in bytes or as ``"20GB"`` / ``"500MB"``; the least recently read objects are removed
        beyond it (tables open keep their files). Default ``$DSVIZ_CACHE_SIZE``, else 8 GiB.
    id : str, optional
        The run's id; an existing run with this id is resumed (see ``resume``).
    tags : list of str, optional
    reinit : {"finish_previous", "return_previous", "create_new"} or bool, optional
        What to do with a run still active: finish it (default, and ``True``), return it
        (``False``), or start another without changing the current run.
    resume : {"allow", "must", "never", "auto"} or bool, optional
        With ``id``: ``"must"`` requires the run to exist, ``"never"`` refuses it. ``"auto"``
        (or ``True``) without ``id`` resumes the latest run whose process died. A resumed
        run keeps its history, summary and config, and logs from the step after its last.
    mode : {"online", "offline", "disabled"}, optional
        Default ``$WANDB_MODE``, else online. Online and offline both store locally;
        ``"disabled"`` keeps the run in a temporary store that is removed at exit.
    allow_val_change : bool, optional
        Let config values change once set (default: only in a notebook, as W&B).
    config_exclude_keys, config_include_keys : list of str, optional

    Other W&B arguments (``settings``, ``save_code``, ``force``, ...) are accepted and have
    no effect; ``resume_from`` and ``fork_from`` are refused.
    """
    global _current
    _run_init.check_unsupported(wandb_only)
    run_mode = _run_init.mode_of(mode)
    how = _run_init.reinit_of(reinit)
    resume_how = _run_init.resume_of(resume)
    if id is not None:
        _run_init.check_run_id(id)
    cache_bytes = None if cache_size is None else resolve_cache_size(cache_size)
    values = _run_init.initial_config(config, config_include_keys, config_exclude_keys)
    allow = _run_init.in_notebook() if allow_val_change is None else bool(allow_val_change)
    with _lock:
        if how == "return_previous" and _active:
            return _active[-1]
        if how == "finish_previous":
            for previous in list(_active):
                previous.finish()
        store = _run_init.disabled_store() if run_mode == "disabled" else open_store(dir, catalog)
        if cache_bytes is not None:
            store.set_cache_size(cache_bytes)
        record = _run_init.resumable(store, id, resume_how, project, {r.id for r in _active})
        run = Run(
            store, project, job_type, name, values, entity=entity, notes=notes, tags=tags,
            group=group, mode=run_mode, id=id if record is None else record["id"],
            resume_from=record, allow_val_change=allow,
        )  # fmt: skip
        _active.append(run)
        if how != "create_new":
            _current = run
        return run


def current_run() -> Run | None:
    """The current run (``dv.run``), or None."""
    return _current


set_current_run_lookup(current_run)  # Artifact.save() logs through the current run


def store_at(
    dir: str | os.PathLike[str] | None = None, catalog: str | os.PathLike[str] | None = None
) -> Store:
    """The store at ``dir`` (with ``catalog``); without either, the current run's (else the
    default store)."""
    if _current is not None and dir is None and catalog is None:
        return _current.store
    return open_store(dir, catalog)


def _run() -> Run:
    with _lock:
        return _current if _current is not None else init()


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any. See :meth:`Run.finish`."""
    with _lock:
        if _current is not None:
            _current.finish(exit_code, quiet)


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the current run (starting one if needed). See :meth:`Run.log`."""
    _run().log(data, step, commit)


def log_artifact(artifact: Artifact, aliases: list[str] | None = None) -> Artifact:
    """Log ``artifact`` from the current run (starting one if needed). See :meth:`Run.log_artifact`."""
    return _run().log_artifact(artifact, aliases)


def use_artifact(artifact_or_name: str | Artifact, type: str | None = None) -> Artifact:
    """Use a logged artifact version from the current run. See :meth:`Run.use_artifact`."""
    return _run().use_artifact(artifact_or_name, type)


def verify(
    dir: str | os.PathLike[str] | None = None, catalog: str | os.PathLike[str] | None = None
) -> VerifyReport:
    """Check every stored file against its digest; the report names each damaged file.

    On an ``s3://`` store the server's bytes are hashed (not the local cache's copy).
    """
    return store_at(dir, catalog).verify()


def gc(
    dir: str | os.PathLike[str] | None = None,
    grace_seconds: float = 3600.0,
    catalog: str | os.PathLike[str] | None = None,
) -> GcReport:
    """Remove stored files that no version refers to (left by interrupted saves).

    Files younger than ``grace_seconds`` are kept; saves in progress are waited for.
    """
    return store_at(dir, catalog).gc(grace_seconds)


@atexit.register
def _finish_at_exit() -> None:
    for run in list(_active):
        with contextlib.suppress(Exception):  # the interpreter is exiting; the store may be gone
            run.finish()
    _run_init.remove_disabled_store()
