"""``dv.lineage``: the graph of runs and artifact versions connected to a run or a version.

Read from the catalog's lineage edges (a run used a version, a run produced one), so it
shows runs of any process. Shown in a notebook, a :class:`Lineage` draws the graph.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

from dsviz_widget import _display
from dsviz_widget._errors import ValidationError
from dsviz_widget._names import check_spec
from dsviz_widget._run_init import default_name
from dsviz_widget._runs import Run, store_at
from dsviz_widget.artifacts import Artifact, Store


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
        "edges": [{"source", "target", "kind": "used" | "produced"}], "store": location,
        "catalog": location}``; edges go from an artifact version to the run that used it,
        and from a run to the version it produced; ``store`` and ``catalog`` name the store
        (its directory or ``s3://`` URL, and its catalog), so a viewer can open the versions.

    Examples
    --------
    >>> import tempfile
    >>> import dsviz_widget as dv
    >>> with dv.init(job_type="make", name="first", dir=tempfile.mkdtemp()) as run:
    ...     logged = run.log_artifact(dv.Artifact("data", type="dataset"))
    >>> graph = lineage(logged)
    >>> [n["label"] for n in graph["nodes"]], [e["kind"] for e in graph["edges"]]
    (['data:v0', 'first'], ['produced'])

    A run's label is its name, the same as ``run.name``: for a run not given one, its job type
    and start time (``"make · 2026-11-30 14:02"``); its id is ``run_id``.
    """
    if isinstance(obj, Run):
        store, start = obj.store, f"run:{obj.id}"
    elif isinstance(obj, Artifact):
        if obj._store is None or obj.is_draft():
            raise ValidationError(f"artifact {obj.name!r} is not logged yet")
        store, start = obj._store, f"artifact:{obj.qualified_name}"
    elif isinstance(obj, str):
        store = store_at(dir)
        if ":" in obj or obj in store.catalog.artifact_names():
            row = store.catalog.resolve(check_spec(obj))
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
        store=store.location,
        catalog=store.catalog_location,
    )


def _node(store: Store, node: str) -> dict[str, Any]:
    kind, _, rest = node.partition(":")
    if kind == "run":
        info = store.catalog.run(rest)
        return {
            "id": node,
            "kind": "run",
            "label": info["name"] or default_name(info["job_type"], info["started_at"]),
            **{k: info[k] for k in ("project", "job_type", "name", "state", "started_at")},
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
