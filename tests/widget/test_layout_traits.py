"""Column layout state in traits: widths, pinned columns and row density, set from Python."""

from __future__ import annotations

import pytest
import traitlets

from dsviz_widget.engine import Source
from dsviz_widget.widget import DatasetWidget, show
from dsviz_widget.widget._protocol import DENSITIES, MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH
from tests.widget import _synth


def widget() -> DatasetWidget:
    return show(Source.from_arrow(_synth.big_table(50)), read_blob=lambda d: b"")


def test_defaults_and_keywords() -> None:
    w = widget()
    assert (w.column_widths, w.pinned, w.density) == ({}, [], "comfortable")
    w.close()
    w = show(
        Source.from_arrow(_synth.big_table(50)),
        read_blob=lambda d: b"",
        column_widths={"label": 220},
        pinned=["id"],
        density="compact",
    )
    assert (w.column_widths, w.pinned, w.density) == ({"label": 220}, ["id"], "compact")
    # The layout is not part of the query: the rows are the same.
    assert w.num_rows == 50 and list(w.page(0, 3)["id"]) == [0, 1, 2]
    w.close()


def test_widths_are_held_to_the_grids_range() -> None:
    w = widget()
    w.column_widths = {"id": 5, "label": 10_000, "score": 150}
    assert w.column_widths == {"id": MIN_COLUMN_WIDTH, "label": MAX_COLUMN_WIDTH, "score": 150}
    w.close()


def test_density_takes_only_its_values() -> None:
    w = widget()
    assert DENSITIES == ("compact", "comfortable", "large")
    w.density = "large"
    with pytest.raises(traitlets.TraitError):
        w.density = "huge"
    assert w.density == "large"
    w.close()


def test_view_state_keeps_the_layout() -> None:
    w = widget()
    w.column_widths, w.pinned, w.density = {"label": 200}, ["score", "id"], "compact"
    state = w.view_state
    assert state["column_widths"] == {"label": 200}
    assert state["pinned"] == ["score", "id"]
    assert state["density"] == "compact"
    w.close()
