"""Every message kind the widget's browser side and kernel side exchange, with its shape.

The browser's types are generated from this module: after changing it, run
``python -m dsviz_widget.widget._typescript`` to rewrite ``js/src/protocol.gen.ts`` (which
``js/src/protocol.ts`` re-exports); ``tests/widget/test_protocol_sync.py`` fails while the
committed file is stale. Annotate precisely: what is typed here is what the browser sees.

The browser pulls, the kernel answers. A request is ``{"id": str, "kind": <request kind>, ...}``;
its answer echoes the id with ``kind`` set to ``"<kind>-response"`` (or ``"error"``). Bulk
data travels in the message buffers, never in the JSON: a page is one Arrow IPC stream, a
thumbnail is its encoded image bytes (JPEG / PNG), a mask is raw little-endian class ids,
an audio clip is its file's bytes as stored.
"""

from __future__ import annotations

from typing import Literal, TypedDict, get_args

PROTOCOL_VERSION = 1

RequestKind = Literal[
    "info",
    "page",
    "count",
    "groups",
    "summary",
    "thumbnails",
    "blob",
    "ids",
    "changes",
    "transitions",
]
ResponseKind = Literal[
    "info-response",
    "page-response",
    "count-response",
    "groups-response",
    "summary-response",
    "thumbnails-response",
    "blob-response",
    "ids-response",
    "changes-response",
    "transitions-response",
    "error",
]

REQUEST_KINDS: tuple[str, ...] = get_args(RequestKind)
RESPONSE_KINDS: tuple[str, ...] = get_args(ResponseKind)

# Requests larger than these are refused with an error rather than silently clamped, so a
# buggy client is noticed; the browser asks for far less.
MAX_PAGE_ROWS = 5_000
#: The widget's ``page_size`` (rows per request while scrolling) is held to this range;
#: the browser asks for at most two pages at once, well under ``MAX_PAGE_ROWS``.
MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1_000
#: Thumbnails the browser asks for per request (a screenful of images and their masks).
THUMBNAIL_BATCH = 60
MAX_THUMBNAILS = 500
MIN_THUMB_SIZE = 16
MAX_THUMB_SIZE = 2_048
#: Largest media file a ``blob`` request answers with (a long WAV clip is a few MB).
MAX_BLOB_BYTES = 64 * 1024 * 1024
#: The widget's ``column_widths`` (px) are held to this range, by the kernel and the grid.
MIN_COLUMN_WIDTH = 40
MAX_COLUMN_WIDTH = 2_000
#: The widget's row densities, smallest rows first.
DENSITIES: tuple[str, ...] = ("compact", "comfortable", "large")
#: Compare mode: how an image column's versions are shown ("auto": overlaid where they are
#: the same pictures, the info reply's ``same_images``; else side by side).
IMAGE_COMPARE_MODES: tuple[str, ...] = ("auto", "overlay", "side")
#: Rows one selection range may hold (a shift-click across a view of millions of rows is
#: refused with this number, rather than shipping millions of ids to the browser and back).
MAX_SELECTION = 100_000
#: Values per side of a transitions matrix: the most frequent; the rest are one "other".
TRANSITION_VALUES = 12


class QuerySpec(TypedDict, total=False):
    """The structured query the browser sends; never SQL. All fields optional."""

    filter: str
    sort: list[str]  # column names, "-" prefix for descending
    group_by: list[str]
    columns: list[str] | None  # None or [] means every column
    changed_only: bool  # compare mode: only rows whose values differ between versions
    # Compare mode: the columns whose change makes a row "changed" for ``changed_only``
    # (base names, e.g. "pred"); [] means the default (ChangesResponse.default).
    change_columns: list[str]
    group: dict[str, object] | None  # drill into one group: its key values (set from Python)
    # Drill into the group holding this source row id (a group row's first sample row, the
    # field ``PageResponse.roles["sample_rows"]`` names):
    # exact for every key type, where key values in JSON / JS numbers are not (int64 > 2^53,
    # NaN, decimals, timestamps). Wins over ``group``.
    group_row: int | None


class FilterErrorState(TypedDict):
    """Not a message: the value of the widget's synced ``filter_error`` trait (``None`` when
    the typed filter works). The kernel keeps the last good filter applied meanwhile."""

    message: str  # what is wrong, without the position
    position: int  # 0-based character offset in the filter text, or -1 (not a syntax error)


class InfoRequest(TypedDict):
    """The table's description. The first one is answered at once, from what is here; when
    that answer was ``provisional`` (a remote table's files still downloading), the browser
    asks again with ``wait`` true, and the kernel answers that one once the files are here
    (the exact description), or with the download's error."""

    id: str
    kind: Literal["info"]
    wait: bool  # answer once the table's files are here, not from what is here (default false)


class PageRequest(TypedDict):
    id: str
    kind: Literal["page"]
    query: QuerySpec
    offset: int
    limit: int


class CountRequest(TypedDict):
    """The exact number of rows (or groups) ``query`` shows: asked right after a page whose
    ``num_rows`` was null (a new filter's rows come first, the count after them)."""

    id: str
    kind: Literal["count"]
    query: QuerySpec


class GroupsRequest(TypedDict):
    """Every field of the groups ``offset .. offset + limit`` of a group page: asked right
    after a page whose ``pending`` was not empty (the keys and counts come first, the
    aggregates and sample rows after them)."""

    id: str
    kind: Literal["groups"]
    query: QuerySpec
    offset: int
    limit: int


class SummaryRequest(TypedDict):
    id: str
    kind: Literal["summary"]
    query: QuerySpec
    column: str
    exact: bool  # top values over every row, even of a mostly-distinct column (default false)


class ThumbnailsRequest(TypedDict):
    id: str
    kind: Literal["thumbnails"]
    images: list[str]  # digests of image files
    masks: list[str]  # digests of mask PNGs
    size: int  # longest side in pixels


class BlobRequest(TypedDict):
    """The bytes of one media file. Only files the table's audio columns refer to are served:
    the browser cannot read arbitrary objects of the store by guessing digests."""

    id: str
    kind: Literal["blob"]
    digest: str  # SHA-256 hex of the file


class IdsRequest(TypedDict):
    """The source row ids of view positions ``offset .. offset + limit``: a selection range
    (shift-click) over rows the browser has not loaded. ``limit`` is at most ``MAX_SELECTION``."""

    id: str
    kind: Literal["ids"]
    query: QuerySpec
    offset: int
    limit: int


class ChangesRequest(TypedDict):
    """Compare mode: on how many rows each compared column changed (one scan, then kept)."""

    id: str
    kind: Literal["changes"]


class TransitionsRequest(TypedDict):
    """Compare mode: how ``column``'s values moved from version ``before`` to ``after``
    (labels), over the rows ``query`` shows."""

    id: str
    kind: Literal["transitions"]
    query: QuerySpec
    column: str
    before: str
    after: str


Request = (
    InfoRequest
    | PageRequest
    | CountRequest
    | GroupsRequest
    | SummaryRequest
    | ThumbnailsRequest
    | BlobRequest
    | IdsRequest
    | ChangesRequest
    | TransitionsRequest
)


class ColumnCapabilities(TypedDict):
    """What the engine can do with a column (``dsviz_widget._format.CAPABILITIES`` resolved
    for the column's Arrow type): the browser offers only these, it never guesses by kind."""

    sortable: bool
    groupable: bool
    filterable: bool  # values can be compared in a filter ('is null' works on every column)
    summarisable: bool  # the header summary has values, not only a count of missing cells


class ColumnInfo(TypedDict):
    name: str
    kind: str  # docs/architecture.md kinds: int, float, bool, str, image, derived, ...
    type: str  # Arrow type as text
    capabilities: ColumnCapabilities


class CompareInfo(TypedDict):
    labels: list[str]  # one per version, in order; version i is coloured dv-v<i>
    on: str  # the key column(s), ", "-joined; "" when rows are matched by position
    compared: list[str]  # columns every version has (each has "<c>@changed"), in order


class VersionChoice(TypedDict):
    """One other version of the shown artifact table the version picker offers."""

    version: str  # "v0": what DatasetWidget.compared_with is set to
    label: str  # as listed: "v3 (latest, best)"


class VersionsState(TypedDict):
    """Not a message: the value of the widget's synced ``versions`` trait (``None`` for a
    table not read from a logged artifact): the artifact table shown and what it can be
    compared with."""

    artifact: str
    entry: str
    version: str  # the version shown alone, "v1"
    label: str  # the same with its aliases, "v1 (latest)"
    choices: list[VersionChoice]  # other versions holding the entry as a table, newest first


class OverlayInfo(TypedDict):
    """What one image column's cells draw over their pictures (``engine.Engine.overlays``):
    the widget shows the class legend, the score slider and the mask-opacity slider only
    where they act."""

    boxes: bool  # some cell has a box
    scores: bool  # some box has a score (the score slider acts)
    masks: bool  # some cell has a mask (the opacity slider acts)
    # classes digest -> ids of that list occurring in the boxes (the masks) of its cells,
    # ascending: the legend lists these, not the whole list. Apart, because a mask's class 0
    # is background (drawn only when its list colours it) and a box's is not.
    box_classes: dict[str, list[int]]
    mask_classes: dict[str, list[int]]
    exact: bool  # False: some of it is an upper bound (masks without derived fractions)


class InfoResponse(TypedDict):
    id: str
    kind: Literal["info-response"]
    name: str
    total_rows: int
    columns: list[ColumnInfo]
    classes: dict[str, list[dict[str, object]]]  # classes digest -> [{id, name, color}]
    class_lists: dict[str, list[str]]  # image column -> digests of the class lists its cells use
    overlays: dict[str, OverlayInfo]  # image column -> what its cells draw
    compare: CompareInfo | None
    # compare mode: compared image column (base name) -> whether its versions show the same
    # picture (digest) on every row; the widget overlays them by default only then
    same_images: dict[str, bool]
    # Described from what is here while the table's files download (its first rows and
    # metadata: overlays not exact, every class of the lists): ask again with ``wait`` true
    # for the description of the whole table
    provisional: bool
    protocol: int


class GroupRoles(TypedDict):
    """Which field of a group page plays which part, so the browser never guesses by name.

    Any column can be a group key, so a key may be called ``count`` or ``_sample_rows``; the
    engine then appends ``_`` to the names it makes (``count_``), and the handler does the
    same for the sample images column.
    """

    keys: list[str]  # the key columns, under their own names, in group_by order
    count: str  # int64: rows in the group
    sample_rows: str  # list<int64>: a few source row ids of the group (hidden; drills in)
    sample_images: str | None  # list<string>: image digests of those rows; None: no images


class PageResponse(TypedDict):
    """Buffers: ``[arrow_ipc_stream]``."""

    id: str
    kind: Literal["page-response"]
    offset: int
    # Rows (or groups) matching the query; null: not counted yet (a new filter's first page
    # comes back before its count: ask with a ``count`` request).
    num_rows: int | None
    # At least this many rows match (exact when num_rows is set): what the grid sizes to
    # until the count arrives.
    rows_at_least: int
    total_rows: int  # rows of the unfiltered table
    grouped: bool
    elapsed_ms: float
    group_key: list[list[str]] | None  # drilled into a group: [[column, value as text], ...]
    roles: GroupRoles | None  # a group page (grouped): its fields' roles; else None
    # The sort keys in force, naming the page's fields (a row column's key sorts groups by
    # its mean(...)); the header shows these arrows. See ViewModel.fit_sort.
    sort: list[str]
    # A group page's fields still to come, in page order (aggregates, sample rows and
    # images): the page holds the keys and counts only; ask with a ``groups`` request for
    # the same query, offset and limit. Empty when the page holds every field.
    pending: list[str]


class CountResponse(TypedDict):
    id: str
    kind: Literal["count-response"]
    num_rows: int  # rows (or groups) matching the query, exact
    total_rows: int  # rows of the unfiltered table
    elapsed_ms: float  # the count's own time


class GroupsResponse(TypedDict):
    """Buffers: ``[arrow_ipc_stream]``: the same groups as the page reply, in the same
    order, with every field (keys, count, aggregates, sample rows and images)."""

    id: str
    kind: Literal["groups-response"]
    offset: int
    roles: GroupRoles
    elapsed_ms: float  # the aggregates' own time


class SummaryResponse(TypedDict):
    id: str
    kind: Literal["summary-response"]
    column: str
    summary: dict[str, object]


class MediaItem(TypedDict):
    digest: str
    role: Literal["image", "mask"]
    buffer: int  # index into the message buffers, -1 when missing
    mime: str  # "image/jpeg", "image/png"; for masks "application/x-class-ids"
    width: int
    height: int
    dtype: str  # masks: "uint8" / "uint16"; images: ""
    error: str  # empty unless the blob could not be read


class ThumbnailsResponse(TypedDict):
    """Buffers: one per item whose ``buffer`` is not -1."""

    id: str
    kind: Literal["thumbnails-response"]
    items: list[MediaItem]


class BlobResponse(TypedDict):
    """Buffers: ``[file_bytes]``."""

    id: str
    kind: Literal["blob-response"]
    digest: str
    mime: str  # "audio/wav", "audio/ogg", "audio/flac", "audio/mpeg"
    size: int  # bytes


class IdsResponse(TypedDict):
    id: str
    kind: Literal["ids-response"]
    offset: int
    ids: list[int]  # in view order; fewer than asked when the view ends first


class ChangesResponse(TypedDict):
    id: str
    kind: Literal["changes-response"]
    rows: int  # rows of the comparison
    counts: dict[str, int]  # compared column -> rows it changed on
    always: list[str]  # columns that changed on every row: left out of the default
    default: list[str]  # the default change columns (compared minus ``always``)


class TransitionCell(TypedDict):
    before: int  # index into TransitionsResponse.before_values
    after: int  # index into TransitionsResponse.after_values
    count: int
    # Filter text selecting exactly these rows ("" for a cell with "other" values); the
    # browser ANDs it with the filter in force when the cell is clicked.
    filter: str


class TransitionsResponse(TypedDict):
    id: str
    kind: Literal["transitions-response"]
    column: str
    before: str  # version labels
    after: str
    kind_of_values: str  # the column's kind ("bool", "int", "str", ...)
    # Values as shown ("null" for missing), most frequent first, at most TRANSITION_VALUES;
    # a last "other" entry stands for the rest when there are more.
    before_values: list[str]
    after_values: list[str]
    cells: list[TransitionCell]  # non-zero cells only
    total: int  # rows counted: the cells sum to it (the view's row count)


class ErrorResponse(TypedDict):
    id: str
    kind: Literal["error"]
    request_kind: str
    error: str
    position: int  # filter errors: 0-based character offset in the filter text, else -1


Response = (
    InfoResponse
    | PageResponse
    | CountResponse
    | GroupsResponse
    | SummaryResponse
    | ThumbnailsResponse
    | BlobResponse
    | IdsResponse
    | ChangesResponse
    | TransitionsResponse
    | ErrorResponse
)

# Each message kind's TypedDict (the generated TypeScript is checked by diffing it, not by this).
FIELDS: dict[str, type] = {
    "info": InfoRequest,
    "page": PageRequest,
    "count": CountRequest,
    "groups": GroupsRequest,
    "summary": SummaryRequest,
    "thumbnails": ThumbnailsRequest,
    "blob": BlobRequest,
    "ids": IdsRequest,
    "changes": ChangesRequest,
    "transitions": TransitionsRequest,
    "info-response": InfoResponse,
    "page-response": PageResponse,
    "count-response": CountResponse,
    "groups-response": GroupsResponse,
    "summary-response": SummaryResponse,
    "thumbnails-response": ThumbnailsResponse,
    "blob-response": BlobResponse,
    "ids-response": IdsResponse,
    "changes-response": ChangesResponse,
    "transitions-response": TransitionsResponse,
    "error": ErrorResponse,
}
