from __future__ import annotations

from dsviz_widget.widget import LineageWidget


def test_lineage_graph_is_normalised_plain_data() -> None:
    w = LineageWidget({"nodes": [{"id": 1, "kind": "run", "label": "train"}, {"id": "a", "kind": "odd"}],
                       "edges": [{"source": 1, "target": "a", "kind": "produced"}]})
    assert w.graph == {
        "nodes": [{"id": "1", "kind": "run", "label": "train"}, {"id": "a", "kind": "artifact", "label": "a"}],
        "edges": [{"source": "1", "target": "a", "kind": "produced"}],
    }
    assert w.selected is None
