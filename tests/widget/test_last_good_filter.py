"""After a malformed filter the kernel and the grid show the same rows: the last good filter's.

The browser keeps its last good filter when a page request fails and asks again with it. The
kernel holds the same rule: ``w.filter`` is the text as typed, ``w.filter_error`` says what
is wrong, and ``w.page()`` / ``w.num_rows`` / ``w.query`` answer for the applied filter, so
they agree with the page the browser shows.
"""

from __future__ import annotations

from typing import Any

import pytest
import traitlets

from dsviz_widget.engine import Source
from dsviz_widget.widget import DatasetWidget, compare, show
from tests.widget import _synth
from tests.widget.conftest import decode
from tests.widget.test_widget import call, sent


def browser_page(
    w: DatasetWidget, monkeypatch: pytest.MonkeyPatch, filt: str, **query: Any
) -> tuple[dict[str, Any], list[int]]:
    """The page the grid asks for (as the JS does: the trait state, with ``filt``)."""
    out = sent(w, monkeypatch)
    spec = {
        "filter": filt,
        "sort": list(w.sort),
        "group_by": list(w.group_by),
        "columns": list(w.columns) or None,
        "changed_only": w.changed_only,
        "group_row": w.group_row,
        **query,
    }
    call(w, {"id": "p", "kind": "page", "query": spec, "offset": 0, "limit": 100})
    reply, buffers = out[-1]
    if reply["kind"] != "page-response":
        return reply, []
    page = decode(buffers)
    return reply, page.column("_row" if "_row" in page.column_names else 0).to_pylist()


def test_a_bad_filter_leaves_the_python_api_on_the_grids_rows(
    images, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, read, _ = images
    w = show(source, read_blob=read, filter="label == 'cat'")
    assert w.filter_error is None and w.applied_filter == "label == 'cat'"
    w.filter = "score >"
    # The text stays as typed; the error names its position, like the page request's error.
    assert w.filter == "score >" and w.applied_filter == "label == 'cat'"
    err, _ = browser_page(w, monkeypatch, w.filter)
    assert err["kind"] == "error"
    assert w.filter_error == {"message": err["error"], "position": err["position"]}
    assert err["position"] == len("score >")
    # The grid falls back to its last good filter; the kernel answers for the same one.
    reply, rows = browser_page(w, monkeypatch, "label == 'cat'")
    assert reply["num_rows"] == w.num_rows == 4
    assert w.page(0, 100)["_row"].tolist() == rows
    assert w.query.filter == "label == 'cat'"
    # Other state still applies with the good filter (the browser retries, then falls back).
    w.sort = ["-score"]
    assert browser_page(w, monkeypatch, w.filter)[0]["kind"] == "error"
    reply, rows = browser_page(w, monkeypatch, "label == 'cat'")
    assert w.page(0, 100)["_row"].tolist() == rows and len(rows) == 4
    # A filter that works becomes the applied one and clears the error.
    w.filter = "score > 0.5"
    assert w.filter_error is None and w.applied_filter == "score > 0.5"
    reply, rows = browser_page(w, monkeypatch, w.filter)
    assert reply["num_rows"] == w.num_rows and w.page(0, 100)["_row"].tolist() == rows
    w.close()


def test_a_bad_filter_from_the_start_shows_every_row(
    images, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, read, _ = images
    w = show(source, read_blob=read, filter="nope == 1")
    assert w.filter == "nope == 1" and w.applied_filter == ""
    assert w.filter_error is not None and "nope" in w.filter_error["message"]
    assert w.filter_error["position"] == 0
    # The browser starts with "" as its last good filter too.
    reply, rows = browser_page(w, monkeypatch, "")
    assert reply["num_rows"] == w.num_rows == 12 and w.page(0, 100)["_row"].tolist() == rows
    w.close()


def test_groups_follow_the_applied_filter(images, monkeypatch: pytest.MonkeyPatch) -> None:
    source, read, _ = images
    w = show(source, read_blob=read, filter="label != 'cat'", group_by=["label"])
    w.filter = "label !="
    reply, keys = browser_page(w, monkeypatch, "label != 'cat'")
    assert reply["grouped"] and reply["num_rows"] == w.num_rows == 2
    assert w.page(0, 100)["label"].tolist() == keys == ["bird", "dog"]
    w.group = {"label": "dog"}  # resolved under the applied filter
    reply, rows = browser_page(w, monkeypatch, "label != 'cat'")
    assert w.page(0, 100)["_row"].tolist() == rows and len(rows) == 4
    w.close()


def test_compare_filter_error_points_into_the_users_text(monkeypatch: pytest.MonkeyPatch) -> None:
    v0, v1 = _synth.versions(10)
    w = compare(
        [Source.from_arrow(v0), Source.from_arrow(v1)],
        on="id",
        labels=["v0", "v1"],
        read_blob=lambda d: b"",
        changed_only=True,
    )
    assert w.num_rows == 5
    w.filter = "score@v0 >"
    err, _ = browser_page(w, monkeypatch, w.filter)
    assert w.filter_error == {"message": err["error"], "position": err["position"]}
    assert err["position"] == len("score@v0 >")
    reply, rows = browser_page(w, monkeypatch, "")
    assert reply["num_rows"] == w.num_rows == 5 and w.page(0, 100)["_row"].tolist() == rows
    w.close()


def test_filter_error_is_set_by_the_kernel_only(images) -> None:
    source, read, _ = images
    w = show(source, read_blob=read)
    assert w.trait_metadata("filter_error", "sync")
    with pytest.raises(traitlets.TraitError):
        w.filter_error = {"message": "x", "position": 0}
    w.close()
