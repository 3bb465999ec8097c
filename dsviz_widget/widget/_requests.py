"""Incoming messages, checked field by field and turned into the typed requests of
``_protocol.py``; and the ``error`` reply a refused or failed request gets.

The browser is not trusted to send what ``protocol.ts`` says: a message may be any JSON value
(or, from a buggy or hostile client, anything the comm delivers). :func:`parse_request`
either returns a request whose every field has the type its ``TypedDict`` declares, or raises
:class:`BadRequest` naming the field, so the handlers never see an unchecked value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from dsviz_widget.widget._protocol import (
    MAX_PAGE_ROWS,
    MAX_SELECTION,
    MAX_THUMB_SIZE,
    MAX_THUMBNAILS,
    MIN_THUMB_SIZE,
    REQUEST_KINDS,
    BlobRequest,
    ChangesRequest,
    CountRequest,
    ErrorResponse,
    GroupsRequest,
    IdsRequest,
    InfoRequest,
    PageRequest,
    QuerySpec,
    Request,
    SummaryRequest,
    ThumbnailsRequest,
    TransitionsRequest,
)

#: The fields a query spec may have (``QuerySpec``); any other is refused, never ignored.
QUERY_FIELDS = frozenset(QuerySpec.__annotations__)
MAX_FILTER_CHARS = 10_000


class BadRequest(ValueError):
    """A request that does not follow the protocol (wrong field type, out of range, ...)."""


def envelope(msg: object) -> tuple[str, str]:
    """The id and kind an answer to ``msg`` echoes, as far as they are strings ("" if not).

    The kind is echoed only when the id is there: a message without an id is not a request.
    """
    if not isinstance(msg, Mapping):
        return "", ""
    raw_id, raw_kind = msg.get("id"), msg.get("kind")
    req_id = raw_id if isinstance(raw_id, str) else ""
    return req_id, raw_kind if req_id and isinstance(raw_kind, str) else ""


def parse_request(msg: object) -> Request:
    """The typed request ``msg`` is, or :class:`BadRequest` saying what is wrong with it."""
    if not isinstance(msg, Mapping):
        raise BadRequest(f"a request must be a JSON object, got {type(msg).__name__}")
    req_id, kind = envelope(msg)
    if not req_id:
        raise BadRequest("the request has no string 'id'")
    parse = PARSERS.get(kind)
    if parse is None:
        raise BadRequest(
            f"unknown request kind {msg.get('kind')!r}; expected one of {', '.join(REQUEST_KINDS)}"
        )
    return parse(req_id, msg)


def error_reply(req_id: str, kind: str, message: str, position: int = -1) -> dict[str, Any]:
    """The ``error`` answer to a request (``position``: into the filter text, else -1)."""
    err: ErrorResponse = {
        "id": req_id,
        "kind": "error",
        "request_kind": kind,
        "error": message,
        "position": position,
    }
    return dict(err)


# ---- one parser per request kind (fields checked in the order the errors name them) -------


def _info(req_id: str, msg: Mapping[str, Any]) -> InfoRequest:
    return {"id": req_id, "kind": "info", "wait": _flag(msg, "wait")}


def _page(req_id: str, msg: Mapping[str, Any]) -> PageRequest:
    query = query_spec(msg.get("query"))
    offset = _int(msg, "offset", 0, None)
    limit = _int(msg, "limit", 0, MAX_PAGE_ROWS)
    return {"id": req_id, "kind": "page", "query": query, "offset": offset, "limit": limit}


def _groups(req_id: str, msg: Mapping[str, Any]) -> GroupsRequest:
    page = _page(req_id, msg)
    return {
        "id": req_id,
        "kind": "groups",
        "query": page["query"],
        "offset": page["offset"],
        "limit": page["limit"],
    }


def _count(req_id: str, msg: Mapping[str, Any]) -> CountRequest:
    return {"id": req_id, "kind": "count", "query": query_spec(msg.get("query"))}


def _summary(req_id: str, msg: Mapping[str, Any]) -> SummaryRequest:
    query = query_spec(msg.get("query"))
    column = msg.get("column")
    if not isinstance(column, str) or not column:
        raise BadRequest("'column' must be a non-empty string")
    exact = _flag(msg, "exact")
    return {"id": req_id, "kind": "summary", "query": query, "column": column, "exact": exact}


def _thumbnails(req_id: str, msg: Mapping[str, Any]) -> ThumbnailsRequest:
    images = _digests(msg, "images")
    masks = _digests(msg, "masks")
    if len(images) + len(masks) > MAX_THUMBNAILS:
        raise BadRequest(
            f"too many thumbnails in one request ({len(images) + len(masks)}; "
            f"at most {MAX_THUMBNAILS})"
        )
    size = _int(msg, "size", MIN_THUMB_SIZE, MAX_THUMB_SIZE)
    return {"id": req_id, "kind": "thumbnails", "images": images, "masks": masks, "size": size}


def _blob(req_id: str, msg: Mapping[str, Any]) -> BlobRequest:
    digest = msg.get("digest")
    if not isinstance(digest, str) or not is_digest(digest):
        raise BadRequest(f"'digest' must be a SHA-256 hex digest, got {str(digest)[:80]!r}")
    return {"id": req_id, "kind": "blob", "digest": digest}


def _ids(req_id: str, msg: Mapping[str, Any]) -> IdsRequest:
    query = query_spec(msg.get("query"))
    offset = _int(msg, "offset", 0, None)
    limit = msg.get("limit")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > MAX_SELECTION:
        raise BadRequest(
            f"a selection holds at most {MAX_SELECTION:,} rows; this range has {limit:,}"
        )
    limit = _int(msg, "limit", 0, MAX_SELECTION)
    return {"id": req_id, "kind": "ids", "query": query, "offset": offset, "limit": limit}


def _changes(req_id: str, msg: Mapping[str, Any]) -> ChangesRequest:
    return {"id": req_id, "kind": "changes"}


def _transitions(req_id: str, msg: Mapping[str, Any]) -> TransitionsRequest:
    query = query_spec(msg.get("query"))
    fields = {}
    for key in ("column", "before", "after"):
        value = msg.get(key)
        if not isinstance(value, str) or not value:
            raise BadRequest(f"'{key}' must be a non-empty string")
        fields[key] = value
    return {
        "id": req_id,
        "kind": "transitions",
        "query": query,
        "column": fields["column"],
        "before": fields["before"],
        "after": fields["after"],
    }


PARSERS: dict[str, Callable[[str, Mapping[str, Any]], Request]] = {
    "info": _info,
    "page": _page,
    "count": _count,
    "groups": _groups,
    "summary": _summary,
    "thumbnails": _thumbnails,
    "blob": _blob,
    "ids": _ids,
    "changes": _changes,
    "transitions": _transitions,
}


def query_spec(raw: object) -> QuerySpec:
    """A browser query spec with every field present and of its declared type."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise BadRequest("'query' must be an object")
    unknown = sorted(set(raw) - QUERY_FIELDS)
    if unknown:
        raise BadRequest(f"unknown query field(s): {', '.join(map(str, unknown))}")
    filt = raw.get("filter") or ""
    if not isinstance(filt, str):
        raise BadRequest("'filter' must be a string")
    if len(filt) > MAX_FILTER_CHARS:
        raise BadRequest("'filter' is longer than 10,000 characters")
    group = raw.get("group")
    if group is not None and not isinstance(group, Mapping):
        raise BadRequest("'group' must be an object of key values")
    return {
        "filter": filt,
        "sort": _str_list(raw.get("sort"), "sort"),
        "group_by": _str_list(raw.get("group_by"), "group_by"),
        "columns": _str_list(raw.get("columns"), "columns") or None,
        "changed_only": bool(raw.get("changed_only", False)),
        "change_columns": _str_list(raw.get("change_columns"), "change_columns"),
        "group": dict(group) if group else None,
        "group_row": None if raw.get("group_row") is None else _int(raw, "group_row", 0, None),
    }


def is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _flag(msg: Mapping[str, Any], key: str) -> bool:
    """``msg[key]``, true or false (false when absent)."""
    value = msg.get(key, False)
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false")
    return value


def _int(msg: Mapping[str, Any], key: str, lo: int, hi: int | None) -> int:
    value = msg.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))  # NaN / inf: int() would raise
        or value != int(value)
    ):
        raise BadRequest(f"'{key}' must be an integer, got {value!r}")
    n = int(value)
    if n < lo:
        raise BadRequest(f"'{key}' must be at least {lo}, got {n}")
    if hi is not None and n > hi:
        raise BadRequest(f"'{key}' must be at most {hi}, got {n}")
    return n


def _str_list(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{what}' must be a list of strings")
    return list(value)


def _digests(msg: Mapping[str, Any], key: str) -> list[str]:
    values = _str_list(msg.get(key), key)
    for d in values:
        if not is_digest(d):
            raise BadRequest(f"'{key}' holds {d[:80]!r}, which is not a SHA-256 hex digest")
    return list(dict.fromkeys(values))
