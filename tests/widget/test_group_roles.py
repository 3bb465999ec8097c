"""A group page says which field is the count, the sample rows and the sample images.

Any column can be a group key, so a key may be named ``count``, ``_sample_rows`` or
``_sample_images``: the engine then calls its own columns ``count_`` / ``_sample_rows_`` and the
handler its images column ``_sample_images_``. The handler used to read ``_sample_rows`` by name
(a user's strings, for a key of that name) and to append a second ``_sample_images`` column; the
browser guessed roles from names. Now the page response names each field's role.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import GROUP_SAMPLES, MessageHandler
from tests.widget import _synth
from tests.widget.conftest import ask, decode, group_page

#: Key values of the 12 rows: x twice, y four times, z six times.
VALUES = ["z", "y", "z", "x", "z", "y", "z", "y", "x", "z", "y", "z"]
EXPECTED = dict(Counter(VALUES))

#: key name -> the roles the page must name (count, sample rows, sample images).
CASES = {
    "count": ("count_", "_sample_rows", "_sample_images"),
    "_sample_rows": ("count", "_sample_rows_", "_sample_images"),
    "_sample_images": ("count", "_sample_rows", "_sample_images_"),
}


def _table(
    key: str, extra: pa.Field | None = None, extra_values: list[object] | None = None
) -> pa.Table:
    """The 12-row image table plus a string column ``key`` holding VALUES (and ``extra``)."""
    base, _, _ = _synth.image_table(12)
    table = base.append_column(_synth.field(key, "str", pa.string()), pa.array(VALUES, pa.string()))
    if extra is not None:
        table = table.append_column(extra, pa.array(extra_values, extra.type))
    return table.replace_schema_metadata(base.schema.metadata)


def _handler(table: pa.Table) -> MessageHandler:
    _, read, _ = _synth.image_table(12)
    return MessageHandler(Source.from_arrow(table), read, name="roles")


@pytest.mark.parametrize("key", list(CASES))
def test_a_group_page_names_its_fields_roles_when_a_key_takes_a_made_name(key: str) -> None:
    count, sample_rows, sample_images = CASES[key]
    table = _table(key)
    h = _handler(table)
    reply, page = group_page(h, {"group_by": [key]})
    assert reply["grouped"] is True and reply["num_rows"] == 3
    assert reply["roles"] == {
        "keys": [key],
        "count": count,
        "sample_rows": sample_rows,
        "sample_images": sample_images,
    }
    assert page.column_names == [
        key,
        count,
        "mean(id)",
        "mean(score)",
        "mean(n_boxes)",
        sample_rows,
        sample_images,
    ]
    # The key column holds the user's strings, the count column the group sizes.
    assert page.schema.field(key).type == pa.string()
    assert page.schema.field(count).type == pa.int64()
    groups = page.to_pylist()
    assert {g[key]: g[count] for g in groups} == EXPECTED
    digests = table.column("image").to_pylist()
    for g in groups:
        members = [i for i, v in enumerate(VALUES) if v == g[key]]
        assert set(g[sample_rows]) <= set(members)
        # The sample images are the images of that group's sample rows.
        assert g[sample_images] == [digests[r]["digest"] for r in g[sample_rows][:GROUP_SAMPLES]]
        assert 1 <= len(g[sample_images]) <= GROUP_SAMPLES


@pytest.mark.parametrize("key", list(CASES))
def test_drilling_in_through_the_sample_rows_role_opens_exactly_that_group(key: str) -> None:
    h = _handler(_table(key))
    reply, page = group_page(h, {"group_by": [key]})
    roles = reply["roles"]
    for g in page.to_pylist():
        member = g[roles["sample_rows"]][0]
        reply, rows = ask(
            h, kind="page", query={"group_by": [key], "group_row": member}, offset=0, limit=100
        )
        assert reply["kind"] == "page-response", reply
        assert reply["grouped"] is False and reply["roles"] is None
        assert reply["group_key"] == [[key, g[key]]]
        assert reply["num_rows"] == g[roles["count"]] == EXPECTED[g[key]]
        page = decode(rows)
        assert sorted(page.column("id").to_pylist()) == [
            i for i, v in enumerate(VALUES) if v == g[key]
        ]
        assert set(page.column(key).to_pylist()) == {g[key]}


def test_a_group_view_sorts_by_its_count_when_the_count_is_count_() -> None:
    h = _handler(_table("count"))
    reply, buffers = ask(h, kind="page", query={"group_by": ["count"]}, offset=0, limit=10)
    by = reply["roles"]["count"]
    assert by == "count_"
    # The browser sorts by the field the count column reads.
    reply, buffers = ask(
        h, kind="page", query={"group_by": ["count"], "sort": [f"-{by}"]}, offset=0, limit=10
    )
    assert reply["kind"] == "page-response", reply
    page = decode(buffers)
    assert page.column("count_").to_pylist() == [6, 4, 2]
    assert page.column("count").to_pylist() == ["z", "y", "x"]
    # "count" is the key: sorting by it orders the key strings.
    reply, buffers = ask(
        h, kind="page", query={"group_by": ["count"], "sort": ["-count"]}, offset=0, limit=10
    )
    assert decode(buffers).column("count").to_pylist() == ["z", "y", "x"]
    reply, buffers = ask(
        h, kind="page", query={"group_by": ["count"], "sort": ["count"]}, offset=0, limit=10
    )
    assert decode(buffers).column("count_").to_pylist() == [2, 4, 6]


def test_a_made_column_is_not_converted_by_the_kind_of_a_table_column_of_its_name() -> None:
    # A timestamp column named "count_" (shown as text in row views) must not turn the group
    # count, which takes that name when a key is called "count", into text.
    stamp = _synth.field("count_", "native", pa.timestamp("s"))
    table = _table("count", stamp, [0] * 12)
    h = _handler(table)
    reply, buffers = ask(h, kind="page", query={"group_by": ["count"]}, offset=0, limit=10)
    assert reply["roles"]["count"] == "count_"
    page = decode(buffers)
    assert page.schema.field("count_").type == pa.int64()
    assert page.column("count_").to_pylist() == [2, 4, 6]
    # The plain view still shows the timestamp column as text, under its own name.
    reply, buffers = ask(h, kind="page", query={}, offset=0, limit=2)
    plain = decode(buffers)
    assert plain.schema.field("count_").type == pa.string()


def test_plain_pages_have_no_roles_and_keep_a_user_column_named_sample_rows() -> None:
    h = _handler(_table("_sample_rows"))
    reply, buffers = ask(h, kind="page", query={}, offset=0, limit=12)
    assert reply["kind"] == "page-response" and reply["grouped"] is False
    assert reply["roles"] is None
    page = decode(buffers)
    assert page.column("_sample_rows").to_pylist() == VALUES
