"""Runs: ``init`` / ``Run`` / ``log_artifact`` / ``use_artifact`` / ``lineage``.

A run is one execution of a job (creating a dataset, training, evaluating). Logging an
artifact from a run records that the run produced that version; using one records that
it consumed it. Module-level functions act on the current run, starting one on demand.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import uuid
from collections import deque
from types import TracebackType
from typing import Any

from dsviz_widget import _display
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget.artifacts import Artifact, Store, VerifyReport, open_store
from dsviz_widget.artifacts._store import GcReport

_current: Run | None = None
_lock = threading.RLock()


class Run:
    """One execution of a job. Create it with :func:`init`; also a context manager.

    Examples
    --------
    >>> import tempfile
    >>> with init(project="cars", job_type="create-dataset", dir=tempfile.mkdtemp()) as run:
    ...     run.job_type
    'create-dataset'
    """

    def __init__(
        self,
        store: Store,
        project: str | None = None,
        job_type: str | None = None,
        name: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        for label, value in (("project", project), ("job_type", job_type), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"run {label} must be a string, got {type(value).__name__}")
        if config is not None and not isinstance(config, dict):
            raise ValidationError("run config must be a dict")
        self.store = store
        self.id = uuid.uuid4().hex[:16]
        self.project, self.job_type, self.name = project, job_type, name
        self.config: dict[str, Any] = dict(config or {})
        self.finished = False
        store.catalog.start_run(self.id, project, job_type, name, self.config)

    def log_artifact(self, artifact: Artifact, aliases: list[str] | None = None) -> Artifact:
        """Store ``artifact`` as its next version (v0, v1, ...) and return it, now logged.

        If its content equals the latest version's, no new version is made: the artifact
        is bound to that version (and ``aliases`` move to it).
        """
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
        if isinstance(artifact_or_name, Artifact):
            if artifact_or_name.version is None:
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

    def finish(self, state: str = "finished") -> None:
        """Mark the run finished; later calls do nothing."""
        global _current
        if self.finished:
            return
        self.finished = True
        self.store.catalog.finish_run(self.id, state)
        with _lock:
            if _current is self:
                _current = None

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish("failed" if exc_type is not None else "finished")

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, project={self.project!r}, job_type={self.job_type!r}, store={str(self.store.root)!r})"


def _check_spec(spec: str) -> str:
    from dsviz_widget._names import check_artifact_name

    name, sep, tag = spec.partition(":")
    check_artifact_name(name)
    if sep and not tag:
        raise NotFoundError(f"{spec!r}: give a version after ':' (v3, latest or an alias)")
    return spec


def init(
    project: str | None = None,
    job_type: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> Run:
    """Start a run (finishing the current one) and make it current.

    Parameters
    ----------
    project, job_type, name : str, optional
        Labels shown in lineage graphs.
    config : dict, optional
        Hyper-parameters and settings, stored with the run.
    dir : path, optional
        The store directory; default ``$DSVIZ_DIR``, else ``~/.dsviz``.
    """
    global _current
    store = open_store(dir)
    with _lock:
        if _current is not None:
            _current.finish()
        _current = Run(store, project, job_type, name, config)
        return _current


def current_run() -> Run | None:
    return _current


def _run() -> Run:
    with _lock:
        return _current if _current is not None else init()


def finish() -> None:
    """Finish the current run, if any."""
    with _lock:
        if _current is not None:
            _current.finish()


def log_artifact(artifact: Artifact, aliases: list[str] | None = None) -> Artifact:
    """Log ``artifact`` from the current run (starting one if needed). See :meth:`Run.log_artifact`."""
    return _run().log_artifact(artifact, aliases)


def use_artifact(artifact_or_name: str | Artifact, type: str | None = None) -> Artifact:
    """Use a logged artifact version from the current run. See :meth:`Run.use_artifact`."""
    return _run().use_artifact(artifact_or_name, type)


def verify(dir: str | os.PathLike[str] | None = None) -> VerifyReport:
    """Check every stored file against its digest; the report names each damaged file."""
    store = _current.store if _current is not None and dir is None else open_store(dir)
    return store.verify()


def gc(dir: str | os.PathLike[str] | None = None, grace_seconds: float = 3600.0) -> GcReport:
    """Remove stored files that no version refers to (left by interrupted saves).

    Files younger than ``grace_seconds`` are kept; saves in progress are waited for.
    """
    store = _current.store if _current is not None and dir is None else open_store(dir)
    return store.gc(grace_seconds)


class Lineage(dict[str, Any]):
    """The lineage graph as plain data: ``{"nodes": [...], "edges": [...]}``.

    Shown in a notebook cell, it draws the graph.
    """

    def _ipython_display_(self) -> None:
        # The graph, and under it the tables of the artifact version clicked in it.
        _display.display_lineage(dict(self))


def lineage(obj: Artifact | Run | str, dir: str | os.PathLike[str] | None = None) -> Lineage:
    """The graph of runs and artifact versions connected to ``obj``.

    Parameters
    ----------
    obj : Artifact, Run, ``"name:v1"`` or a run id
    dir : path, optional
        The store to look in, when ``obj`` is a string and no run is current.

    Returns
    -------
    Lineage
        ``{"nodes": [{"id", "kind": "run" | "artifact", "label", ...}],
        "edges": [{"source", "target", "kind": "used" | "produced"}], "store": root}``; edges
        go from an artifact version to the run that used it, and from a run to the version it
        produced; ``store`` is the store directory, so a viewer can open the versions.
    """
    if isinstance(obj, Run):
        store, start = obj.store, f"run:{obj.id}"
    elif isinstance(obj, Artifact):
        if obj._store is None or obj.version is None:
            raise ValidationError(f"artifact {obj.name!r} is not logged yet")
        store, start = obj._store, f"artifact:{obj.qualified_name}"
    elif isinstance(obj, str):
        store = _current.store if _current is not None and dir is None else open_store(dir)
        if ":" in obj or obj in store.catalog.artifact_names():
            row = store.catalog.resolve(_check_spec(obj))
            start = f"artifact:{row.artifact}:v{row.version}"
        else:
            store.catalog.run(obj)
            start = f"run:{obj}"
    else:
        raise ValidationError(
            f"lineage takes an Artifact, a Run or a name like 'data:v1', got {type(obj).__name__}"
        )
    adjacent: dict[str, list[tuple[str, str, str]]] = {}
    for run_id, artifact, version, direction in store.catalog.lineage_edges():
        run_node, art_node = f"run:{run_id}", f"artifact:{artifact}:v{version}"
        edge = (
            (art_node, run_node, "used")
            if direction == "used"
            else (run_node, art_node, "produced")
        )
        adjacent.setdefault(run_node, []).append(edge)
        adjacent.setdefault(art_node, []).append(edge)
    seen, queue, edges = {start}, deque([start]), set()
    while queue:
        node = queue.popleft()
        for edge in adjacent.get(node, []):
            edges.add(edge)
            for other in edge[:2]:
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
    nodes = [_node(store, n) for n in sorted(seen)]
    return Lineage(
        nodes=nodes,
        edges=[{"source": s, "target": t, "kind": k} for s, t, k in sorted(edges)],
        store=str(store.root),
    )


def _node(store: Store, node: str) -> dict[str, Any]:
    kind, _, rest = node.partition(":")
    if kind == "run":
        info = store.catalog.run(rest)
        label = info["name"] or info["job_type"] or info["id"]
        return {
            "id": node,
            "kind": "run",
            "label": label,
            **{k: info[k] for k in ("project", "job_type", "name", "state")},
            "run_id": rest,
        }
    name, _, version = rest.rpartition(":")
    row = store.catalog.version(name, int(version[1:]))
    return {
        "id": node,
        "kind": "artifact",
        "label": row.qualified_name,
        "artifact": name,
        "version": row.version,
        "type": row.type,
        "aliases": list(row.aliases),
    }


@atexit.register
def _finish_at_exit() -> None:
    with contextlib.suppress(Exception):  # the interpreter is exiting; the store may be gone
        finish()
