"""The lineage graph widget: runs and artifact versions, and which used or produced which."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets as t

from dsviz_widget.widget._widget import STATIC


class LineageWidget(anywidget.AnyWidget):
    """Draws ``dv.lineage(...)`` output: runs and artifact versions laid out left to right.

    The graph is small plain data, so unlike table rows it travels in a synced trait.

    Examples
    --------
    >>> LineageWidget({"nodes": [{"id": "r1", "kind": "run", "label": "train"}],
    ...                "edges": []})  # doctest: +SKIP
    """

    _esm = STATIC / "lineage.js"
    _css = STATIC / "lineage.css"

    graph = t.Dict().tag(sync=True)
    """``{"nodes": [{"id", "kind": "run" | "artifact", "label", ...}], "edges": [{"source",
    "target", "kind": "used" | "produced"}]}``."""

    selected = t.Unicode(None, allow_none=True).tag(sync=True)
    """Id of the node the user clicked last (e.g. an artifact version to open)."""

    height = t.Int(400).tag(sync=True)
    """Largest height in pixels before the graph scrolls."""

    def __init__(self, graph: dict[str, Any], **kwargs: Any) -> None:
        nodes = [
            {"id": str(n["id"]), "kind": "run" if n.get("kind") == "run" else "artifact",
             "label": str(n.get("label", n["id"]))}
            for n in graph.get("nodes", [])
        ]
        edges = [
            {"source": str(e["source"]), "target": str(e["target"]),
             "kind": "used" if e.get("kind") == "used" else "produced"}
            for e in graph.get("edges", [])
        ]
        super().__init__(graph={"nodes": nodes, "edges": edges}, **kwargs)
