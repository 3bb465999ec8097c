"""The kernel side of the widget protocol: parse a request, ask the view model, answer.

:class:`MessageHandler` knows nothing of Jupyter: ``handle(msg)`` takes the plain dict the
browser sent, parses it into a typed request (``_requests.py``), dispatches it through the
table of request kinds and returns ``(reply, buffers)``. The widget class forwards custom
messages to it; the protocol tests call it directly.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, cast

import pyarrow as pa

from dsviz_widget._errors import DsvizError
from dsviz_widget.engine import Engine, FilterError, QueryError, Source, View, capabilities
from dsviz_widget.widget._arrow import for_browser, to_ipc
from dsviz_widget.widget._media import MediaCache, MediaError
from dsviz_widget.widget._objects import NotThisTable, Role, TableObjects
from dsviz_widget.widget._protocol import (
    MAX_BLOB_BYTES,
    PROTOCOL_VERSION,
    BlobRequest,
    BlobResponse,
    ChangesRequest,
    ChangesResponse,
    ColumnInfo,
    CompareInfo,
    CountRequest,
    CountResponse,
    GroupRoles,
    GroupsRequest,
    GroupsResponse,
    IdsRequest,
    IdsResponse,
    InfoRequest,
    InfoResponse,
    MediaItem,
    OverlayInfo,
    PageRequest,
    PageResponse,
    QuerySpec,
    SummaryRequest,
    SummaryResponse,
    ThumbnailsRequest,
    ThumbnailsResponse,
    TransitionsRequest,
    TransitionsResponse,
)
from dsviz_widget.widget._requests import BadRequest, envelope, error_reply, parse_request
from dsviz_widget.widget._transitions import matrix
from dsviz_widget.widget._viewmodel import ViewModel, drilled, group_key_text

log = logging.getLogger("dsviz_widget.widget")

#: Requests slower than this are logged at WARNING with their query.
SLOW_SECONDS = 1.0
#: Sample images per group row.
GROUP_SAMPLES = 4
#: Name of the sample images column of a group page (``_`` appended while a key has it).
SAMPLES = "_sample_images"
#: MIME type of each audio format the store keeps (media/_audio.py).
AUDIO_MIME = {"wav": "audio/wav", "ogg": "audio/ogg", "flac": "audio/flac", "mp3": "audio/mpeg"}

Reply = tuple[dict[str, Any], list[bytes]]


class MessageHandler:
    """Answers the browser's requests for one table.

    Parameters
    ----------
    source:
        What the engine queries.
    read_blob:
        ``digest -> bytes`` of an image or mask file.
    name:
        Label shown in the widget's status bar.
    compare:
        ``{"labels": [...], "on": key}`` when ``source`` comes from ``compare_sources``.
    classes:
        Extra ``{classes digest: [{id, name, color}]}`` (a comparison's inputs' classes).
    """

    def __init__(
        self,
        source: Source,
        read_blob: Callable[[str], bytes],
        *,
        name: str | None = None,
        compare: CompareInfo | None = None,
        classes: dict[str, list[dict[str, Any]]] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.source = source
        self.name = name or source.name
        self.compare = compare
        self.model = ViewModel(source, engine=engine, compare=compare is not None)
        self.engine = self.model.engine
        self.media = MediaCache(read_blob)
        self.kinds = source.kinds
        self.classes = dict(source.metadata.get("classes") or {})
        self.classes.update(classes or {})
        self._read_blob = read_blob
        self._overlays: dict[str, OverlayInfo] | None = None
        self._same_images: dict[str, bool] | None = None
        #: The files this table's cells name; every request that sends file bytes asks it first.
        self.objects = TableObjects(source, self.engine)
        # One entry per kind of _protocol.RequestKind (a test checks): a kind from the wire
        # is looked up here, never as an attribute name.
        self._handlers: dict[str, Callable[[Any], Reply]] = {
            "info": self._info,
            "page": self._page,
            "count": self._count,
            "groups": self._groups,
            "summary": self._summary,
            "thumbnails": self._thumbnails,
            "blob": self._blob,
            "ids": self._ids,
            "changes": self._changes,
            "transitions": self._transitions,
        }

    def close(self) -> None:
        """Release what this handler holds (the engine is shared: see :meth:`ViewModel.close`)."""
        self.model.close()

    # ---- entry point -------------------------------------------------------------------

    def handle(self, msg: object, buffers: object = None) -> Reply:
        """Answer one request. Never raises: problems become an ``error`` reply."""
        started = time.perf_counter()
        req_id, kind = envelope(msg)
        try:
            request = parse_request(msg)
            reply, out = self._handlers[request["kind"]](request)
            reply["id"] = req_id
        except FilterError as exc:
            return error_reply(req_id, kind, exc.message, exc.position), []
        except (BadRequest, QueryError, IndexError) as exc:
            return error_reply(req_id, kind, str(exc)), []
        except Exception as exc:  # the kernel must answer: a silent failure hangs the UI
            log.exception("widget request %s failed", kind)
            return self.failed(msg, exc)
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_SECONDS:
            log.warning("slow widget request %s took %.2f s: %s", kind, elapsed, _brief(msg))
        return reply, out

    def failed(self, msg: object, exc: BaseException) -> Reply:
        """The reply to ``msg`` when answering it failed with ``exc`` (also what a request
        the worker set aside gets when the download it waited for failed)."""
        req_id, kind = envelope(msg)
        return error_reply(req_id, kind, f"{type(exc).__name__}: {exc}"), []

    # ---- requests ----------------------------------------------------------------------

    def _info(self, request: InfoRequest) -> Reply:
        columns: list[ColumnInfo] = []
        for f in self.source.schema:
            kind = self.kinds.get(f.name, "native")
            can = capabilities(kind, f.type)
            columns.append(
                {
                    "name": f.name,
                    "kind": kind,
                    "type": str(f.type),
                    "capabilities": {
                        "sortable": can.sortable,
                        "groupable": can.groupable,
                        "filterable": can.filterable,
                        "summarisable": can.summarisable,
                    },
                }
            )
        try:
            class_lists, overlays, provisional = self._described(wait=request["wait"])
        except DsvizError as exc:
            if not request["wait"]:
                raise
            # The download's typed error, as the requests set aside for it get it (no traceback
            # logged: the browser keeps its provisional description and shows this).
            return self.failed(request, exc)
        reply: InfoResponse = {
            "id": "",
            "kind": "info-response",
            "name": self.name,
            "total_rows": self.source.num_rows,
            "columns": columns,
            "classes": self.classes,
            "class_lists": class_lists,
            "overlays": overlays,
            "compare": self.compare,
            "same_images": self.same_images(),
            "provisional": provisional,
            "protocol": PROTOCOL_VERSION,
        }
        return dict(reply), []

    def _described(
        self, wait: bool = False
    ) -> tuple[dict[str, list[str]], dict[str, OverlayInfo], bool]:
        """The info reply's class lists and overlays, and whether they are provisional.

        Unless ``wait``, without waiting for the table's files: a remote table still
        downloading them is described from what is here (schema and metadata from its head,
        the row count from the manifest), not after the whole download: the class lists its
        first rows use and every other list of its metadata, and, as what its image cells
        draw is not known yet, every control the metadata's plan of derived columns allows
        (not exact). So is one whose download just failed (its error comes with the requests
        that need the file; the next one fetches again). Such a description is provisional:
        the browser then asks again with ``wait``, which the worker sets aside until the
        files are here (``_worker.RequestWorker``), and which waits for them (or raises the
        download's error) if asked of the handler directly."""
        if wait or self.objects.complete():
            try:
                return self.objects.class_lists(), self.overlays(), False
            except DsvizError as exc:
                if wait or self.source.present() is self.source:
                    raise  # asked for the whole table, or not one whose files were downloading
                log.warning("%s described from its first rows: %s", self.name, exc)
        class_lists = self.objects.class_lists_now()
        return class_lists, self._planned_overlays(class_lists), True

    def _planned_overlays(self, lists: dict[str, list[str]]) -> dict[str, OverlayInfo]:
        """:meth:`_unknown_overlays`, narrowed by the derived columns the table's metadata
        describes: they were planned at ingest from every cell (``_derived.plan``), so an
        image column has box counts only if some cell has boxes, score columns only if some
        box is scored, mask fractions only if some cell has a mask. Which classes occur per
        class list is not narrowed (every class of the lists). Without such a plan (none
        made, or some of it left out), nothing is narrowed."""
        out = self._unknown_overlays(lists)
        meta = self.source.metadata
        derived = meta.get("derived")
        if meta.get("derived_omitted") or not isinstance(derived, list) or not derived:
            return out
        for name, overlay in out.items():
            kinds = {
                d.get("kind") for d in derived if isinstance(d, dict) and d.get("source") == name
            }
            overlay["boxes"] = "box_count" in kinds
            overlay["scores"] = "max_score" in kinds
            overlay["masks"] = "mask_fraction" in kinds
            if not overlay["boxes"]:
                overlay["box_classes"] = {}
            if not overlay["masks"]:
                overlay["mask_classes"] = {}
        return out

    def overlays(self) -> dict[str, OverlayInfo]:
        """Per image column, what its cells draw and which classes occur (read once)."""
        if self._overlays is None:
            try:
                found = self.engine.overlays(self.source)
                self._overlays = {
                    name: {
                        "boxes": o.boxes,
                        "scores": o.scores,
                        "masks": o.masks,
                        "box_classes": o.box_classes,
                        "mask_classes": o.mask_classes,
                        "exact": o.exact,
                    }
                    for name, o in found.items()
                }
            except QueryError as exc:
                # Over budget: offer every control with every class of the lists in use,
                # as if nothing were known, rather than fail the whole description.
                log.warning("image overlays of %s not read: %s", self.name, exc)
                self._overlays = self._unknown_overlays(self.objects.class_lists())
        return self._overlays

    def _unknown_overlays(self, lists: dict[str, list[str]]) -> dict[str, OverlayInfo]:
        """Overlays when what the cells draw is not known: every control, with every class
        of the lists the image columns use (``lists``), marked not exact."""
        out: dict[str, OverlayInfo] = {}
        for name, digests in lists.items():
            every = {d: sorted(int(c["id"]) for c in self.classes.get(d, [])) for d in digests}
            out[name] = {
                "boxes": True,
                "scores": True,
                "masks": True,
                "box_classes": every,
                "mask_classes": every,
                "exact": False,
            }
        return out

    def same_images(self) -> dict[str, bool]:
        """Compare mode: per compared image column, whether its versions are one picture on
        every row (``engine.Engine.same_pictures``). Read once; over budget, unknown (empty:
        the widget then shows the versions side by side, which is never wrong)."""
        if self._same_images is None:
            self._same_images = {}
            if self.compare is not None:
                labels = self.compare["labels"]
                names = set(self.source.schema.names)
                groups: dict[str, list[str]] = {}
                for name in self.source.schema.names:
                    base, at, label = name.rpartition("@")
                    if at and label == labels[0] and self.kinds.get(name) == "image":
                        fields = [f"{base}@{lb}" for lb in labels]
                        if all(f in names for f in fields):
                            groups[base] = fields
                try:
                    self._same_images = self.engine.same_pictures(self.source, groups)
                except QueryError as exc:
                    log.warning("images of %s not compared: %s", self.name, exc)
        return self._same_images

    def _page(self, request: PageRequest) -> Reply:
        spec, offset, limit = request["query"], request["offset"], request["limit"]
        started = time.perf_counter()
        view = self.view(spec)
        self.model.focus(view)  # the widget's other views stop their background work
        grouped = bool(spec.get("group_by")) and not drilled(spec)
        roles: GroupRoles | None = None
        kinds = self.kinds
        pending: list[str] = []
        if grouped and view.groups is not None:
            groups = view.groups
            if groups.separable and not groups.ready:
                # Counts first: keys and counts from one cheap GROUP BY; the aggregates and
                # sample rows come with the browser's groups request right after.
                page = groups.counts().slice(offset, limit)
                pending = [*groups.pending, *self._images_field(view)]
            else:
                page = view.page(offset, limit)
            page, roles = self._with_samples(page, view)
            # Only the keys are the table's columns: a made column (count_, mean(x)) may share
            # the name of another table column, whose kind must not convert it.
            kinds = {k: self.kinds[k] for k in roles["keys"] if k in self.kinds}
        else:
            page = view.page(offset, limit)
        table = for_browser(page, kinds)
        reply: PageResponse = {
            "id": "",
            "kind": "page-response",
            "offset": offset,
            # A new filter's first page is read without counting (rows first); the browser
            # asks for the count right after drawing them (a count request).
            "num_rows": int(view.num_rows) if view.counted else None,
            "rows_at_least": int(view.num_rows) if view.counted else offset + page.num_rows,
            "total_rows": int(view.total_rows),
            "grouped": grouped,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
            "group_key": None,
            "roles": roles,
            "sort": list(view.query.sort),
            "pending": pending,
        }
        if spec.get("group_by") and drilled(spec):
            reply["group_key"] = group_key_text(view)
        return dict(reply), [to_ipc(table)]

    def _groups(self, request: GroupsRequest) -> Reply:
        """Every field of a group page's groups: what a page reply left ``pending``."""
        spec, offset, limit = request["query"], request["offset"], request["limit"]
        if not spec.get("group_by") or drilled(spec):
            raise BadRequest("a groups request asks for a group page: 'group_by' and no group")
        started = time.perf_counter()
        view = self.view(spec)
        page, roles = self._with_samples(view.page(offset, limit), view)
        kinds = {k: self.kinds[k] for k in roles["keys"] if k in self.kinds}
        reply: GroupsResponse = {
            "id": "",
            "kind": "groups-response",
            "offset": offset,
            "roles": roles,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        return dict(reply), [to_ipc(for_browser(page, kinds))]

    def _count(self, request: CountRequest) -> Reply:
        started = time.perf_counter()
        view = self.view(request["query"])
        reply: CountResponse = {
            "id": "",
            "kind": "count-response",
            "num_rows": int(view.num_rows),
            "total_rows": int(view.total_rows),
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        return dict(reply), []

    def _summary(self, request: SummaryRequest) -> Reply:
        column = request["column"]
        summary = self.view(request["query"]).summary(column, exact=request.get("exact", False))
        reply: SummaryResponse = {
            "id": "",
            "kind": "summary-response",
            "column": column,
            "summary": _jsonable(summary),
        }
        return dict(reply), []

    def _changes(self, request: ChangesRequest) -> Reply:
        if self.compare is None:
            raise QueryError("change counts are for a comparison (dv.compare)")
        counts = self.engine.change_counts(self.source)
        reply: ChangesResponse = {
            "id": "",
            "kind": "changes-response",
            "rows": counts.rows,
            "counts": counts.counts,
            "always": counts.always,
            "default": counts.default,
        }
        return dict(reply), []

    def _transitions(self, request: TransitionsRequest) -> Reply:
        if self.compare is None:
            raise QueryError("transitions are for a comparison (dv.compare)")
        column, before, after = request["column"], request["before"], request["after"]
        query = self.model.query({**request["query"], "group_by": [], "sort": []})
        table = self.engine.transitions(self.source, column, before, after, filter=query.filter)
        values_b, values_a, cells, total = matrix(table, f"{column}@{before}", f"{column}@{after}")
        reply: TransitionsResponse = {
            "id": "",
            "kind": "transitions-response",
            "column": column,
            "before": before,
            "after": after,
            "kind_of_values": self.kinds.get(f"{column}@{before}", "native"),
            "before_values": values_b,
            "after_values": values_a,
            "cells": cells,
            "total": total,
        }
        return dict(reply), []

    def _thumbnails(self, request: ThumbnailsRequest) -> Reply:
        images, masks, size = request["images"], request["masks"], request["size"]
        items: list[MediaItem] = []
        buffers: list[bytes] = []
        asked: list[tuple[Role, str]] = [("image", d) for d in images]
        asked += [("mask", d) for d in masks]
        refused: dict[int, str] = {}
        for i, (role, digest) in enumerate(asked):
            try:
                self.objects.check(role, digest)
            except NotThisTable as exc:
                refused[i] = str(exc)
        # The files of the table, read at once (a store in a bucket: a few round trips).
        wanted = [item for i, item in enumerate(asked) if i not in refused]
        made = iter(self.media.get_many(wanted, size))
        for i, (role, digest) in enumerate(asked):
            enc = MediaError(refused[i]) if i in refused else next(made)
            if isinstance(enc, MediaError):
                items.append(_media_item(digest, role, -1, "", 0, 0, "", str(enc)))
                continue
            items.append(
                _media_item(
                    digest, role, len(buffers), enc.mime, enc.width, enc.height, enc.dtype, ""
                )
            )
            buffers.append(enc.data)
        reply: ThumbnailsResponse = {"id": "", "kind": "thumbnails-response", "items": items}
        return dict(reply), buffers

    def _blob(self, request: BlobRequest) -> Reply:
        digest = request["digest"]
        try:
            self.objects.check("audio", digest)
        except NotThisTable as exc:
            raise BadRequest(str(exc)) from None
        fmt = self.objects.audio_format(digest)
        try:
            data = self._read_blob(digest)
        except Exception as exc:
            raise BadRequest(f"cannot read audio {digest[:12]}: {exc}") from None
        if len(data) > MAX_BLOB_BYTES:
            raise BadRequest(
                f"audio {digest[:12]} is {len(data):,} bytes, more than the "
                f"{MAX_BLOB_BYTES:,} the widget plays"
            )
        reply: BlobResponse = {
            "id": "",
            "kind": "blob-response",
            "digest": digest,
            "mime": AUDIO_MIME.get(fmt, "application/octet-stream"),
            "size": len(data),
        }
        return dict(reply), [bytes(data)]

    def _ids(self, request: IdsRequest) -> Reply:
        spec = request["query"]
        if spec.get("group_by") and not drilled(spec):
            raise BadRequest("group rows cannot be selected; look into a group to select its rows")
        offset = request["offset"]
        ids = self.view(spec).ids(offset, request["limit"])
        reply: IdsResponse = {
            "id": "",
            "kind": "ids-response",
            "offset": offset,
            "ids": [int(i) for i in ids],
        }
        return dict(reply), []

    # ---- engine ------------------------------------------------------------------------

    def view(self, spec: QuerySpec) -> View:
        """The engine view a page or summary request asks about (see :class:`ViewModel`)."""
        return self.model.view(spec)

    def _images_field(self, view: View) -> list[str]:
        """``[name]`` of a group page's sample images field (the first image column's), or
        ``[]`` when the table has no image column."""
        if not any(k == "image" for k in self.kinds.values()):
            return []
        taken = set(view.groups.names) if view.groups is not None else set()
        name = SAMPLES
        while name in taken:
            name += "_"
        return [name]

    def _with_samples(self, page: pa.Table, view: View) -> tuple[pa.Table, GroupRoles]:
        """Add each group's first sample image digests (first image column) to a group page,
        and name the role of each field the widget treats specially.

        Roles come from the view, never from literal names: any column can be a key, so the
        count may be ``count_`` and the sample rows ``_sample_rows_`` (the engine appends
        ``_`` to a name a key already has). The images column follows the same rule. A page
        of keys and counts alone (counts first) gets no images: they come with the rest.
        """
        rows_col: str = view.samples_column
        images = self._images_field(view)
        roles: GroupRoles = {
            "keys": list(view.group_by),
            "count": view.count_column,
            "sample_rows": rows_col,
            "sample_images": images[0] if images else None,
        }
        if not images or rows_col not in page.column_names:
            return page, roles
        col = next(n for n, k in self.kinds.items() if k == "image")
        samples = [list(rows or [])[:GROUP_SAMPLES] for rows in page.column(rows_col).to_pylist()]
        flat = sorted({r for rows in samples for r in rows})
        cells = self.engine.rows(self.source, flat, [col]).column(col).to_pylist() if flat else []
        by_row = {r: (c or {}).get("digest") for r, c in zip(flat, cells, strict=True)}
        digests = [[by_row[r] for r in rows if by_row.get(r)] for rows in samples]
        return page.append_column(images[0], pa.array(digests, pa.list_(pa.string()))), roles


def _media_item(
    digest: str, role: str, buffer: int, mime: str, width: int, height: int, dtype: str, error: str
) -> MediaItem:
    return {
        "digest": digest,
        "role": cast(Any, role),
        "buffer": buffer,
        "mime": mime,
        "width": width,
        "height": height,
        "dtype": dtype,
        "error": error,
    }


def _jsonable(value: Any) -> Any:
    """numpy / Arrow scalars and NaN to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _brief(msg: object) -> str:
    text = json.dumps(msg, default=str)
    return text if len(text) < 300 else text[:297] + "..."
