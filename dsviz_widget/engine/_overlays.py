"""What an image column's cells draw over their pictures: boxes, scores, masks and the classes
that occur, so the widget offers a legend and sliders only where they act.

Read with DuckDB over the stored columns, never by decoding an image:

- **Derived columns** (docs/architecture.md, "Derived columns") when the table's metadata
  describes them for the column: per-class box counts and mask pixel fractions, score maxima.
  One aggregate scan of numeric columns, grouped by the cells' class-list digest (a class
  name means an id only within its own image's list).
- **The boxes' JSON** otherwise (joins, comparisons, tables written without derived columns):
  class ids and scores extracted from ``$.*.box_data[*]``. JSON is slow to scan (seconds per
  million rows), so this is done for at most :data:`MAX_JSON_ROWS` rows; above that, and for
  masks without derived fractions (their classes are only in the PNGs' pixels), every class
  of the lists the cells use counts as present and scores as possible: the controls are then
  shown as they would be without this module, never hidden wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from dsviz_widget.engine._columns import SqlColumn, column_sql

#: Rows up to which a source without derived columns has its boxes' JSON scanned.
MAX_JSON_ROWS = 200_000


@dataclass(frozen=True)
class Overlays:
    """What one image column's cells draw.

    ``box_classes`` and ``mask_classes`` map a class-list digest (``classes`` of the image
    cells) to the ids of that list that occur in the boxes (the masks) of the cells using it,
    ascending: kept apart because a mask's class 0 is background, drawn only when its list
    gives it a colour, while a box of class 0 is always drawn. ``exact`` is False when some
    of it is an upper bound (see the module docstring).
    """

    boxes: bool = False
    scores: bool = False
    masks: bool = False
    box_classes: dict[str, list[int]] = field(default_factory=dict)
    mask_classes: dict[str, list[int]] = field(default_factory=dict)
    exact: bool = True


def image_overlays(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    columns: Mapping[str, SqlColumn],
    metadata: Mapping[str, Any],
    num_rows: int,
) -> dict[str, Overlays]:
    """:class:`Overlays` of every image column of the relation ``from_sql``."""
    lists: dict[str, list[dict[str, Any]]] = dict(metadata.get("classes") or {})
    derived = [] if metadata.get("derived_omitted") else list(metadata.get("derived") or [])
    out: dict[str, Overlays] = {}
    for name, col in columns.items():
        if col.kind != "image" or not pa.types.is_struct(col.type):
            continue
        own = [
            d
            for d in derived
            if isinstance(d, dict) and d.get("source") == name and d.get("name") in columns
        ]
        out[name] = _column(con, from_sql, col, own, columns, lists, num_rows)
    return out


def _field(col: SqlColumn, name: str) -> str:
    # Field names are the format's constants, never user text.
    return f"struct_extract({col.ident}, '{name}')" if name in col.type.names else "NULL"


def _any(exprs: list[str]) -> str:
    return f"coalesce(bool_or({' OR '.join(exprs)}), false)" if exprs else "false"


def _column(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    col: SqlColumn,
    described: list[dict[str, Any]],
    columns: Mapping[str, SqlColumn],
    lists: Mapping[str, list[dict[str, Any]]],
    num_rows: int,
) -> Overlays:
    def value(d: dict[str, Any]) -> str:
        return column_sql(columns[str(d["name"])])

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for d in described:
        by_kind.setdefault(str(d.get("kind")), []).append(d)
    counted = by_kind.get("class_box_count", []) + by_kind.get("mask_fraction", [])
    box_derived = bool(by_kind.get("box_count"))
    mask_derived = bool(by_kind.get("mask_fraction"))
    boxes, masks, digest = _field(col, "boxes"), _field(col, "masks"), _field(col, "classes")
    select = [
        f"{digest} AS d",
        # A cell without boxes or masks stores NULL; "{}" is an empty dict of groups.
        f"coalesce(bool_or({boxes} IS NOT NULL AND {boxes} <> '{{}}'), false)",
        f"coalesce(bool_or({masks} IS NOT NULL AND {masks} <> '{{}}'), false)",
        _any([f"{value(d)} > 0" for d in by_kind.get("box_count", [])]),
        _any([f"{value(d)} IS NOT NULL" for d in by_kind.get("max_score", [])]),
        *(_any([f"{value(d)} > 0"]) for d in counted),
    ]
    rows = con.execute(f"SELECT {', '.join(select)} FROM {from_sql} GROUP BY 1").fetchall()
    present: dict[str, set[int]] = {}
    in_masks: dict[str, set[int]] = {}
    has_boxes = has_masks = has_scores = False
    exact = True
    for d, any_boxes, any_masks, derived_boxes, derived_scores, *hits in rows:
        key = d if isinstance(d, str) and d in lists else None
        ids = present.setdefault(key, set()) if key else set()
        mask_ids = in_masks.setdefault(key, set()) if key else set()
        has_masks = has_masks or bool(any_masks)
        if box_derived:
            has_boxes = has_boxes or bool(derived_boxes)
            has_scores = has_scores or bool(derived_scores)
        for spec, hit in zip(counted, hits, strict=True):
            if hit and key:
                into = mask_ids if spec.get("kind") == "mask_fraction" else ids
                into.update(_ids(spec, counted, lists[key]))
        if any_masks and not mask_derived and key:
            mask_ids.update(_all_ids(lists[key]))
            exact = False
        if any_boxes and not box_derived:
            has_boxes = True  # refined by the JSON scan below, when it runs
    if has_masks and not mask_derived:
        exact = False
    if has_boxes and not box_derived:
        if num_rows <= MAX_JSON_ROWS:
            has_boxes, has_scores = _json_boxes(con, from_sql, boxes, digest, lists, present)
        else:
            has_scores = True
            exact = False
            for d, any_boxes, *_ in rows:
                if any_boxes and isinstance(d, str) and d in lists:
                    present.setdefault(d, set()).update(_all_ids(lists[d]))
    return Overlays(
        boxes=has_boxes,
        scores=has_scores,
        masks=has_masks,
        box_classes={d: sorted(ids) for d, ids in present.items() if ids},
        mask_classes={d: sorted(ids) for d, ids in in_masks.items() if ids},
        exact=exact,
    )


def _json_boxes(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    boxes: str,
    digest: str,
    lists: Mapping[str, list[dict[str, Any]]],
    present: dict[str, set[int]],
) -> tuple[bool, bool]:
    """Scan the boxes' JSON: (some box exists, some box has a score); adds class ids."""
    # json_valid first: one malformed cell must not fail the whole scan. class_id is
    # required of every box (media/_boxes.py), so a box shows as its class id.
    sql = (
        "SELECT d, list(DISTINCT TRY_CAST(id AS BIGINT)), coalesce(bool_or(s), false) FROM ("
        "SELECT d, unnest(ids) AS id, s FROM ("
        f"SELECT {digest} AS d, json_extract(b, '$.*.box_data[*].class_id') AS ids, "
        "len(json_extract(b, '$.*.box_data[*].scores.*')) > 0 AS s "
        f"FROM (SELECT *, {boxes} AS b FROM {from_sql}) WHERE json_valid(b))) GROUP BY d"
    )
    has_boxes = has_scores = False
    for d, ids, scored in con.execute(sql).fetchall():
        has_boxes = True
        has_scores = has_scores or bool(scored)
        if isinstance(d, str) and d in lists:
            known = _all_ids(lists[d])
            present.setdefault(d, set()).update(i for i in ids if i in known)
    return has_boxes, has_scores


def _all_ids(entries: list[dict[str, Any]]) -> set[int]:
    return {e["id"] for e in entries if isinstance(e.get("id"), int)}


def _ids(
    spec: dict[str, Any], counted: list[dict[str, Any]], entries: list[dict[str, Any]]
) -> set[int]:
    """The ids of one class list that a derived class column's label stands for.

    The label is the class's name in the image's own list, or its id as text for an id the
    list does not name; the ``(other)`` column (``note`` set) stands for every class of its
    group without a column of its own.
    """
    label = spec.get("class")
    if spec.get("note"):
        named = {
            str(d.get("class"))
            for d in counted
            if d.get("group") == spec.get("group") and d.get("kind") == spec.get("kind")
        }
        return {e["id"] for e in entries if str(e.get("name")) not in named} & _all_ids(entries)
    ids = {e["id"] for e in entries if e.get("name") == label and isinstance(e.get("id"), int)}
    if not ids and isinstance(label, str) and label.isascii() and label.isdigit():
        ids = {int(label)} & _all_ids(entries)
    return ids
