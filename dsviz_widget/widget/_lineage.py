"""The lineage graph widget: runs and artifact versions, and which used or produced which.

Clicking an artifact version opens its tables in a grid under the graph.
"""

from __future__ import annotations

from typing import Any

import anywidget
import ipywidgets
import traitlets as t

from dsviz_widget.artifacts import Artifact
from dsviz_widget.widget._lineage_open import open_version, read_table, table_names
from dsviz_widget.widget._widget import STATIC, DatasetWidget


class LineageWidget(anywidget.AnyWidget):
    """Draws ``dv.lineage(...)`` output: runs and artifact versions laid out left to right.

    The graph is small plain data, so unlike table rows it travels in a synced trait. By
    default the browser groups the runs of one step (job type) into one node, "train ×3";
    ``explode=True`` (the "Explode" checkbox) shows every run and artifact version.

    When the graph names its store (``dv.lineage`` output does), clicking an artifact version
    shows its first table in :attr:`panel`; :func:`lineage_view` puts the two together.

    Examples
    --------
    >>> LineageWidget({"nodes": [{"id": "r1", "kind": "run", "label": "train"}],
    ...                "edges": []})  # doctest: +SKIP
    """

    _esm = STATIC / "lineage.js"
    _css = STATIC / "lineage.css"

    graph = t.Dict().tag(sync=True)
    """``{"nodes": [{"id", "kind": "run" | "artifact", "label", "group", "step", "version",
    "detail", "title"}], "edges": [{"source", "target", "kind": "used" | "produced"}]}``.
    ``group`` is the key nodes are grouped by when collapsed (a run's project and step, an
    artifact's name), ``step`` the name a group is shown with, ``detail`` a second, smaller
    line of text, ``title`` more for the tooltip (a run's whole id, an artifact's type)."""

    selected = t.Unicode(None, allow_none=True).tag(sync=True)
    """Id of the node the user clicked last (e.g. an artifact version to open). Clicking a
    group of versions selects its newest version."""

    explode = t.Bool(False).tag(sync=True)
    """Show every run and artifact version (True) instead of one node per step and per
    artifact (False, the default: it stays readable when a step ran many times)."""

    height = t.Int(400).tag(sync=True)
    """Largest height in pixels of the graph's view; a taller graph is panned (drag, wheel,
    arrow keys) or zoomed out."""

    opened = t.Unicode("").tag(sync=True)
    """``name:vN`` of the artifact version whose tables are shown under the graph, or ""."""

    tables = t.List(t.Unicode()).tag(sync=True)
    """Names of the tables in the opened version; the browser offers a choice when there
    are several."""

    table = t.Unicode(None, allow_none=True).tag(sync=True)
    """The table of the opened version shown in :attr:`panel`; set by the browser's choice."""

    can_open = t.Bool(False).tag(sync=True)
    """Whether clicking a version opens its tables: the graph named its store."""

    error = t.Unicode("").tag(sync=True)
    """Why the clicked version could not be shown (no tables, store gone, ...), shown as text."""

    def __init__(self, graph: dict[str, Any], **kwargs: Any) -> None:
        self._store_root = graph.get("store")
        self._catalog = graph.get("catalog")
        self._versions: dict[str, tuple[str, int]] = {}
        nodes = [self._normalise(n) for n in graph.get("nodes", [])]
        edges = [
            {
                "source": str(e["source"]),
                "target": str(e["target"]),
                "kind": "used" if e.get("kind") == "used" else "produced",
            }
            for e in graph.get("edges", [])
        ]
        self._artifact: Artifact | None = None  # the opened version, to read its other tables
        self.panel = ipywidgets.VBox()
        """Holds the grid of the opened table (empty until an artifact version is clicked)."""
        super().__init__(
            graph={"nodes": nodes, "edges": edges}, can_open=self._store_root is not None, **kwargs
        )

    def _normalise(self, n: dict[str, Any]) -> dict[str, Any]:
        node_id = str(n["id"])
        label = str(n.get("label", node_id))
        if n.get("kind") == "run":
            step = str(n.get("job_type") or n.get("name") or label)
            run_id = str(n.get("run_id") or "")
            state = n.get("state")
            # The short id tells apart runs of one step started in the same minute; the whole
            # id is in the tooltip, to copy into dv.lineage(...) or init(id=...).
            detail = " · ".join(
                x for x in (run_id[:8], state if state not in (None, "finished") else "") if x
            )
            title = " · ".join(x for x in (f"run {run_id}" if run_id else "", state or "") if x)
            return {
                "id": node_id,
                "kind": "run",
                "label": label,
                "group": f"{n.get('project') or ''}/{step}",
                "step": step,
                "version": None,
                "detail": detail,
                "title": title,
            }
        artifact, version = n.get("artifact"), n.get("version")
        if isinstance(artifact, str) and isinstance(version, int):
            self._versions[node_id] = (artifact, version)
        name = str(artifact) if artifact else label
        aliases = ", ".join(str(a) for a in n.get("aliases") or [])
        title = " · ".join(
            x
            for x in (
                f"type {n['type']}" if n.get("type") else "",
                aliases and f"aliases {aliases}",
            )
            if x
        )
        return {
            "id": node_id,
            "kind": "artifact",
            "label": label,
            "group": name,
            "step": name,
            "version": version if isinstance(version, int) else None,
            "detail": aliases,
            "title": title,
        }

    @t.observe("selected")
    def _open_selected(self, change: dict[str, Any]) -> None:
        version = self._versions.get(change["new"] or "")
        if version is None or self._store_root is None:
            self._clear()
            return
        artifact, number = version
        try:
            art = open_version(str(self._store_root), artifact, number, self._catalog)
            names = table_names(art)
        except Exception as exc:  # any failure becomes text the user can read
            self._clear(error=f"cannot open {artifact}:v{number}: {exc}")
            return
        if not names:
            entries = ", ".join(art.entries()) or "none"
            self._clear(error=f"{art.qualified_name} has no tables (entries: {entries})")
            return
        self._artifact = art
        with self.hold_sync():
            self.opened, self.tables, self.error = art.qualified_name, names, ""
            if self.table == names[0]:
                self._show_table({"new": names[0]})  # the observer does not fire: same value
            else:
                self.table = names[0]

    @t.observe("table")
    def _show_table(self, change: dict[str, Any]) -> None:
        art, name = self._artifact, change["new"]
        if art is None or name is None or name not in self.tables:
            return
        from dsviz_widget.widget._show import show_widget as show

        self._close_grid()
        try:
            grid = show(read_table(art, name), name=name)
        except Exception as exc:  # shown as text, not lost in the kernel log
            self.error = f"cannot show {art.qualified_name}/{name}: {exc}"
            return
        self.error = ""
        self.panel.children = (grid,)

    def _clear(self, error: str = "") -> None:
        self._close_grid()
        self._artifact = None
        with self.hold_sync():
            self.opened, self.tables, self.table, self.error = "", [], None, error

    def _close_grid(self) -> None:
        for child in self.panel.children:
            if isinstance(child, DatasetWidget):
                child.close()  # stops its worker thread and comm
        self.panel.children = ()


def lineage_view(graph: dict[str, Any], **kwargs: Any) -> ipywidgets.VBox:
    """The lineage graph with the clicked version's table under it.

    Examples
    --------
    >>> import dsviz_widget as dv                               # doctest: +SKIP
    >>> view = lineage_view(dv.lineage("predictions:latest"))   # doctest: +SKIP
    >>> view.children[0].explode = True                         # doctest: +SKIP
    """
    w = LineageWidget(graph, **kwargs)
    return ipywidgets.VBox([w, w.panel])
