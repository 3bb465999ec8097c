"""Rows of a Parquet file read by position from its pages, without DuckDB.

A page of a sorted or filtered view wants ~50 rows scattered over the file. DuckDB (and
pyarrow) decode every page of each column chunk such a row falls in: ~2 ms per row group
touched, ~40 ms for 50 scattered rows of a 10M-row file. When the file has an offset index
(``write_page_index``; logged tables are written with one, and with pages of at most
2,048 rows, see ``artifacts/_serialize.PAGE_ROWS``), a row's value is in one small page
per column: read that page (one ``pread``), decompress it, and pick the value. Only what
this module fully understands is read this way — flat columns (no lists or structs) of
booleans, integers, floats, strings and binaries, PLAIN or dictionary encoded, data pages
v1 or v2 — and everything else says :class:`Unsupported`, so the caller reads those
columns through DuckDB as before.

Design notes:
- The Thrift compact protocol (Parquet's footer, page headers, offset index) is parsed
  here by a small generic reader; the offset index (three numbers per page) is decoded
  with numpy, all of a column chunk's entries at once, because a 10M-row column has ~5,000
  pages.
- Nothing here trusts the file: every offset and length is checked against the bytes
  read, and anything out of place is :class:`Unsupported` (the caller falls back), never a
  wrong value.
- Values are found, not decoded page-wide: a PLAIN fixed-width value is one unpack at
  its offset; a dictionary index or a definition level is found by walking the
  RLE/bit-packed runs to it; only a PLAIN byte array walks the lengths before it (at most
  a page's values).
"""

from __future__ import annotations

import bisect
import os
import struct
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import cramjam
import numpy as np
import pyarrow as pa

# Parquet's enums (parquet.thrift).
_BOOLEAN, _INT32, _INT64, _FLOAT, _DOUBLE, _BYTE_ARRAY = 0, 1, 2, 4, 5, 6
_PLAIN, _PLAIN_DICTIONARY, _RLE, _RLE_DICTIONARY = 0, 2, 3, 8
_DELTA_BINARY_PACKED, _DELTA_LENGTH_BYTE_ARRAY = 5, 6
_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3
_CODECS = {0: None, 1: "snappy", 2: "gzip", 4: "brotli", 6: "zstd", 7: "lz4_raw"}
#: A dictionary page of more values than this is not decoded here (walking its lengths
#: would cost more than DuckDB's read of the chunk).
_MAX_DICTIONARY = 4096
#: Offset indexes read at once (``PageRows.load_indexes``) only from a region this small
#: (a 100M-row table's are ~3 MB).
_MAX_INDEX_BYTES = 64 << 20
#: Dictionaries kept per file (least recently used out).
_DICTIONARIES = 256


class Unsupported(Exception):
    """This file, column or page is not one this module reads (the caller uses DuckDB)."""


# What a malformed file can raise while its bytes are parsed (a field of another type than
# Parquet's, a length past the end): all mean "not read here".
_MALFORMED = (
    Unsupported,
    AttributeError,
    TypeError,
    KeyError,
    ValueError,
    IndexError,
    OverflowError,
    struct.error,
)


# ---- Thrift compact protocol ----------------------------------------------------------


def _varint(b: Any, p: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        x = b[p]
        p += 1
        out |= (x & 0x7F) << shift
        if x < 0x80:
            return out, p
        shift += 7


def _value(b: Any, p: int, t: int) -> tuple[Any, int]:
    if t == 1 or t == 2:  # a bool in a struct field: the type is the value
        return t == 1, p
    if t == 3:
        return b[p], p + 1
    if 4 <= t <= 6:
        v, p = _varint(b, p)
        return (v >> 1) ^ -(v & 1), p
    if t == 7:
        return struct.unpack_from("<d", b, p)[0], p + 8
    if t == 8:
        n, p = _varint(b, p)
        if p + n > len(b):
            raise Unsupported("truncated thrift binary")
        return bytes(b[p : p + n]), p + n
    if t == 9 or t == 10:
        h = b[p]
        p += 1
        n, et = h >> 4, h & 15
        if n == 15:
            n, p = _varint(b, p)
        if et == 1 or et == 2:  # bools in a list: one byte each
            return [b[p + i] == 1 for i in range(n)], p + n
        out = []
        for _ in range(n):
            v, p = _value(b, p, et)
            out.append(v)
        return out, p
    if t == 11:
        n, p = _varint(b, p)
        if n == 0:
            return {}, p
        h = b[p]
        p += 1
        m = {}
        for _ in range(n):
            k, p = _value(b, p, h >> 4)
            m[k], p = _value(b, p, h & 15)
        return m, p
    if t == 12:
        return _struct(b, p)
    raise Unsupported(f"thrift type {t}")


def _struct(b: Any, p: int) -> tuple[dict[int, Any], int]:
    """A struct as {field id: value}, and the position after it."""
    out: dict[int, Any] = {}
    p, _ = _fields(b, p, out, False)
    return out, p


def parse_struct(b: Any) -> dict[int, Any]:
    """Parse one Thrift compact struct; anything malformed is :class:`Unsupported`."""
    try:
        return _struct(b, 0)[0]
    except (IndexError, struct.error, RecursionError) as exc:
        raise Unsupported(f"malformed thrift: {exc}") from None


def page_header(b: Any) -> dict[int, Any]:
    """A PageHeader's fields up to its page-kind struct (5, 7 or 8), whose scalar fields
    are read up to its statistics (always last, never needed here); key 0 holds where the
    parse stopped (the header is at least that long)."""
    try:
        out: dict[int, Any] = {}
        p, fid = _fields(b, 0, out, True)
        if fid:
            if fid not in (5, 7, 8):
                raise Unsupported("not a data or dictionary page")
            out[fid] = {}
            p, _ = _fields(b, p, out[fid], True)
    except (IndexError, struct.error, RecursionError) as exc:
        raise Unsupported(f"malformed page header: {exc}") from None
    out[0] = p
    return out


def _fields(b: Any, p: int, into: dict[int, Any], stop_at_struct: bool) -> tuple[int, int]:
    """Read a struct's fields from ``b[p:]`` into ``into`` until its end: (the position
    after it, 0); with ``stop_at_struct``, until its first struct field: (the position of
    that struct, its field id). Integers, most of a footer and every page header, are
    decoded inline (a function call each doubled the footer's parse)."""
    fid = 0
    while True:
        h = b[p]
        p += 1
        if h == 0:
            return p, 0
        t = h & 15
        if h >> 4:
            fid += h >> 4
        else:
            v, p = _varint(b, p)
            fid = (v >> 1) ^ -(v & 1)
        if t == 5 or t == 6:
            v = shift = 0
            while True:
                x = b[p]
                p += 1
                v |= (x & 0x7F) << shift
                if x < 0x80:
                    break
                shift += 7
            into[fid] = (v >> 1) ^ -(v & 1)
        elif t == 12 and stop_at_struct:
            return p, fid
        else:
            into[fid], p = _value(b, p, t)


def _varints(blob: np.ndarray) -> np.ndarray:
    """Every unsigned varint in ``blob`` (uint8), in order, decoded at once."""
    ends = np.flatnonzero(blob < 0x80)
    if not len(ends):
        return np.zeros(0, dtype=np.int64)
    blob = blob[: ends[-1] + 1]
    starts = np.concatenate([[0], ends[:-1] + 1])
    group = np.repeat(np.arange(len(ends)), ends - starts + 1)
    shift = 7 * (np.arange(len(blob)) - starts[group])
    if shift.max(initial=0) > 56:
        raise Unsupported("varint wider than 63 bits")
    parts = (blob & 0x7F).astype(np.int64) << shift.astype(np.int64)
    return np.add.reduceat(parts, starts)


def offset_index(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset, compressed size, first row) of every page in a column chunk's OffsetIndex.

    Each PageLocation is three zig-zag varints behind one-byte field headers (``0x16 0x15
    0x16``) and a stop byte; read as a stream of varints those are 7 numbers a page, so a
    whole index decodes with numpy. Another layout (field ids written long-form, extra
    fields) is parsed by the generic reader instead.
    """
    b = memoryview(blob)
    if len(b) < 2 or b[0] != 0x19:  # field 1, a list
        return _offset_index_slow(blob)
    h = b[1]
    n, p = h >> 4, 2
    if h & 15 != 12:
        raise Unsupported("offset index: not a list of structs")
    if n == 15:
        n, p = _varint(b, p)
    v = _varints(np.frombuffer(blob, dtype=np.uint8, offset=p))
    if len(v) < 7 * n:
        return _offset_index_slow(blob)
    v = v[: 7 * n].reshape(n, 7) if n else np.zeros((0, 7), dtype=np.int64)
    if not (
        (v[:, 0] == 0x16).all()
        and (v[:, 2] == 0x15).all()
        and (v[:, 4] == 0x16).all()
        and (v[:, 6] == 0).all()
    ):
        return _offset_index_slow(blob)
    zz = v[:, [1, 3, 5]]
    vals = (zz >> 1) ^ -(zz & 1)
    return vals[:, 0].copy(), vals[:, 1].copy(), vals[:, 2].copy()


def _offset_index_slow(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    locs = parse_struct(blob).get(1)
    if not isinstance(locs, list) or not all(isinstance(x, dict) for x in locs):
        raise Unsupported("offset index without page locations")
    try:
        rows = [(int(x[1]), int(x[2]), int(x[3])) for x in locs]
    except KeyError:
        raise Unsupported("offset index: a page location lacks a field") from None
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


# ---- RLE / bit-packed hybrid ------------------------------------------------------------


def rle_at(b: Any, p: int, end: int, width: int, k: int) -> tuple[int, int]:
    """The ``k``-th value of the RLE/bit-packed hybrid run list at ``b[p:end]`` of values
    ``width`` bits wide, and (for ``width == 1``: definition levels) how many of the values
    before it are 1."""
    ones = 0
    byte_width = (width + 7) // 8
    mask = (1 << width) - 1
    while p < end:
        h, p = _varint(b, p)
        if h & 1:  # bit-packed: (h >> 1) groups of 8 values
            count = (h >> 1) * 8
            nbytes = (h >> 1) * width
            if k < count:
                bit = k * width
                if p + (bit + width + 7) // 8 > end:
                    raise Unsupported("bit-packed run past its end")
                lo = p + bit // 8
                chunk = int.from_bytes(b[lo : lo + byte_width + 1], "little")
                value = (chunk >> (bit % 8)) & mask
                if width == 1 and k:
                    before = int.from_bytes(b[p : p + (k + 7) // 8], "little")
                    ones += (before & ((1 << k) - 1)).bit_count()
                return value, ones
            if width == 1:
                ones += int.from_bytes(b[p : p + nbytes], "little").bit_count()
            p += nbytes
        else:  # a run of (h >> 1) copies of one value
            count = h >> 1
            if p + byte_width > end:
                raise Unsupported("RLE run past its end")
            value = int.from_bytes(b[p : p + byte_width], "little")
            p += byte_width
            if k < count:
                return value, ones + (k if width == 1 and value else 0)
            if width == 1 and value:
                ones += count
        k -= count
    raise Unsupported("RLE runs end before the value")


# ---- DELTA_BINARY_PACKED -------------------------------------------------------------------


def delta_prefix(b: Any, p: int, end: int, upto: int) -> tuple[np.ndarray, int, int]:
    """The first ``upto`` values of the DELTA_BINARY_PACKED run at ``b[p:end]`` (int64,
    wrapping as Parquet's int64 arithmetic does), how many values the run holds, and the
    position right after it (where DELTA_LENGTH_BYTE_ARRAY's bytes start).

    Only the block headers are walked in Python; the miniblocks holding the wanted deltas
    are unpacked with numpy, all at once.
    """
    block, p = _varint(b, p)
    minis, p = _varint(b, p)
    total, p = _varint(b, p)
    v, p = _varint(b, p)
    first = (v >> 1) ^ -(v & 1)
    if block <= 0 or block % 128 or minis <= 0 or block % minis or (block // minis) % 32:
        raise Unsupported("DELTA_BINARY_PACKED header")
    per = block // minis
    need = min(upto, total) - 1  # deltas wanted
    remaining = total - 1  # deltas stored
    spans: list[tuple[int, int, int, int]] = []  # (byte start, width, count, min delta)
    while remaining > 0:
        v, p = _varint(b, p)
        low = (v >> 1) ^ -(v & 1)
        if p + minis > end:
            raise Unsupported("DELTA_BINARY_PACKED block past its end")
        widths = bytes(b[p : p + minis])
        p += minis
        for w in widths:
            if remaining <= 0:
                break  # the last block's unused miniblocks hold no bytes
            if w > 64:
                raise Unsupported("delta wider than 64 bits")
            if need > 0:
                spans.append((p, w, min(per, need), low))
                need -= per
            p += per * w // 8
            remaining -= per
        if p > end:
            raise Unsupported("DELTA_BINARY_PACKED miniblock past its end")
    out = np.empty(min(upto, total), dtype=np.int64)
    if len(out):
        out[0] = first
    if spans and max(s[1] for s in spans) > 56:  # 9 bytes a value: Python integers
        deltas = []
        for at, w, count, low in spans:
            for i in range(count):
                bit = i * w
                word = int.from_bytes(b[at + bit // 8 : at + bit // 8 + 9], "little")
                deltas.append((((word >> (bit % 8)) & ((1 << w) - 1)) + low) % 2**64)
        wrapped = np.array(deltas, dtype=np.uint64).view(np.int64)
        with np.errstate(over="ignore"):
            out[1:] = first + np.cumsum(wrapped)
    elif spans:
        lo = spans[0][0]
        hi = spans[-1][0] + (spans[-1][1] * spans[-1][2] + 7) // 8
        raw = np.frombuffer(bytes(b[lo:hi]) + bytes(8), dtype=np.uint8)
        counts = np.array([s[2] for s in spans])
        starts = np.repeat(np.array([(s[0] - lo) * 8 for s in spans]), counts)
        widths_ = np.repeat(np.array([s[1] for s in spans], dtype=np.uint64), counts)
        lows = np.repeat(np.array([s[3] for s in spans], dtype=np.int64), counts)
        within = np.arange(len(starts)) - np.repeat(np.cumsum(counts) - counts, counts)
        bit = starts + within * widths_.astype(np.int64)
        words = np.lib.stride_tricks.sliding_window_view(raw, 8)[bit >> 3].copy().view("<u8")
        packed = (words[:, 0] >> (bit & 7).astype(np.uint64)) & ((np.uint64(1) << widths_) - 1)
        deltas = (packed + lows.view(np.uint64)).view(np.int64)
        with np.errstate(over="ignore"):
            out[1:] = first + np.cumsum(deltas)
    return out, total, p


# ---- the file -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """A flat column: its chunk index, Parquet physical type and how to read it."""

    index: int
    physical: int
    nullable: bool
    arrow: pa.DataType  # what the values are built as, then cast to the field's type


def readable_type(t: pa.DataType) -> bool:
    """Whether a column of Arrow type ``t`` is one this module reads (when its file has an
    offset index): booleans, integers, floats, strings and binaries."""
    return bool(
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _decoded_type(element: dict[int, Any], field: pa.Field) -> pa.DataType | None:
    """The Arrow type the leaf's values are built as (cast to ``field.type`` after), or
    None when this module does not read it exactly."""
    physical = element.get(1)
    t = field.type
    logical = element.get(10) or {}
    converted = element.get(6)
    if physical == _BOOLEAN and pa.types.is_boolean(t):
        return pa.bool_()
    if physical in (_INT32, _INT64) and pa.types.is_integer(t):
        if logical and 10 not in logical:  # a date, time, timestamp or decimal
            return None
        if converted is not None and converted not in (15, 16, 17, 18, 11, 12, 13, 14):
            return None  # 11-18: (U)INT_8..64; anything else is not a plain integer
        bits = 32 if physical == _INT32 else 64
        if t.bit_width > bits:
            return None
        signed = pa.types.is_signed_integer(t)
        if 10 in logical and bool(logical[10].get(2, True)) != signed:
            return None
        return (
            (pa.int32() if bits == 32 else pa.int64())
            if signed
            else (pa.uint32() if bits == 32 else pa.uint64())
        )
    if physical == _FLOAT and pa.types.is_float32(t):
        return pa.float32()
    if physical == _DOUBLE and pa.types.is_float64(t):
        return pa.float64()
    if physical == _BYTE_ARRAY:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            if 1 in logical or converted == 0:  # STRING / UTF8
                return pa.string()
            return None
        if (pa.types.is_binary(t) or pa.types.is_large_binary(t)) and not logical:
            return pa.binary()
    return None


class PageRows:
    """Reads rows of one Parquet file by position, page by page (see the module doc).

    Built from the file's footer (parsed once); :meth:`take` reads the wanted rows of the
    columns :meth:`readable` names. Thread-safe: reads use ``os.pread`` on a descriptor
    opened per call, and the caches are filled under a lock.
    """

    def __init__(self, path: str, schema: pa.Schema) -> None:
        try:
            self._open(path, schema)
        except _MALFORMED as exc:
            if isinstance(exc, Unsupported):
                raise
            raise Unsupported(f"footer not understood: {type(exc).__name__}") from None

    def _open(self, path: str, schema: pa.Schema) -> None:
        self.path = path
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            size = st.st_size
            self.identity = (st.st_size, st.st_mtime_ns)
            if size < 12:
                raise Unsupported("not a Parquet file")
            tail = os.pread(f.fileno(), 8, size - 8)
            if tail[4:] != b"PAR1":
                raise Unsupported("no Parquet footer (encrypted or not Parquet)")
            n = struct.unpack("<i", tail[:4])[0]
            if not 0 < n <= size - 12:
                raise Unsupported("footer length out of range")
            meta = parse_struct(os.pread(f.fileno(), n, size - 8 - n))
        self.size = size
        groups = meta.get(4) or []
        self.group_rows = np.array([int(g.get(3, 0)) for g in groups], dtype=np.int64)
        self.group_starts = np.concatenate([[0], np.cumsum(self.group_rows)]).astype(np.int64)
        if int(meta.get(3, -1)) != int(self.group_rows.sum()):
            raise Unsupported("row groups do not add up to the file's rows")
        self._chunks = [g.get(1) or [] for g in groups]
        self.leaves = self._leaves(meta.get(2) or [], schema)
        for chunks in self._chunks:
            for leaf in self.leaves.values():
                if leaf.index >= len(chunks):
                    raise Unsupported("a row group lacks a column chunk")
                cc = chunks[leaf.index]
                if 4 not in cc or 5 not in cc:
                    raise Unsupported("no offset index")
                if cc.get(1):
                    raise Unsupported("a column chunk in another file")
        if not self.leaves:
            raise Unsupported("no column read page by page")
        # Per column chunk: its pages' (offsets, sizes, first rows).
        self._index: dict[tuple[int, int], tuple[array[int], array[int], array[int]]] = {}
        self._dicts: OrderedDict[tuple[int, int], list[Any]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _leaves(elements: list[dict[int, Any]], schema: pa.Schema) -> dict[str, _Leaf]:
        """Top-level flat columns this module reads, by name."""
        if not elements:
            return {}
        fields = {f.name: f for f in schema}
        out: dict[str, _Leaf] = {}
        leaf = 0
        i = 1
        remaining = [int(elements[0].get(5, 0))]  # children left per open group
        while i < len(elements):
            e = elements[i]
            top = len(remaining) == 1
            children = int(e.get(5, 0) or 0)
            remaining[-1] -= 1
            if children:
                remaining.append(children)
            else:
                name = e.get(4, b"").decode("utf-8", "surrogateescape")
                field = fields.get(name)
                if top and e.get(3) != 2 and field is not None:
                    arrow = _decoded_type(e, field)
                    if arrow is not None:
                        out[name] = _Leaf(leaf, int(e[1]), e.get(3) == 1, arrow)
                leaf += 1
            while len(remaining) > 1 and remaining[-1] == 0:
                remaining.pop()
            i += 1
        return out

    def readable(self, columns: list[str]) -> list[str]:
        return [c for c in columns if c in self.leaves]

    # -- per chunk ------------------------------------------------------------------------
    def _pages(self, fd: int, g: int, leaf: _Leaf) -> tuple[array[int], array[int], array[int]]:
        key = (g, leaf.index)
        got = self._index.get(key)
        if got is None:
            cc = self._chunks[g][leaf.index]
            at, n = int(cc[4]), int(cc[5])
            if at < 0 or n <= 0 or at + n > self.size:
                raise Unsupported("offset index out of the file")
            offsets, sizes, firsts = offset_index(os.pread(fd, n, at))
            rows = int(self.group_rows[g])
            if (
                not len(firsts)
                or firsts[0] != 0
                or (np.diff(firsts) <= 0).any()
                or firsts[-1] >= max(rows, 1)
                or (offsets < 0).any()
                or (sizes <= 0).any()
                or (offsets + sizes > self.size).any()
            ):
                raise Unsupported("offset index does not describe the chunk")
            # array('q'): 8 bytes an entry (a 100M-row table has ~300k pages), and bisect
            # and indexing on it are as quick as on a list.
            got = (array("q", offsets), array("q", sizes), array("q", firsts))
            with self._lock:
                self._index[key] = got
        return got

    def load_indexes(self) -> None:
        """Decode every column chunk's offset index now, all at once (the engine's footer
        thread calls this): read one by one as pages first touch them, the ~200 chunks a
        page of 50 rows of a 10M-row table touches cost ~20 ms; here the whole file's
        take one read and a few numpy passes. A chunk not in the expected layout is left
        to :meth:`_pages` (decoded, or refused, when a page needs it)."""
        spans = [
            (g, leaf.index, int(chunks[leaf.index][4]), int(chunks[leaf.index][5]))
            for g, chunks in enumerate(self._chunks)
            for leaf in list(self.leaves.values())  # a take may drop one meanwhile
            if (g, leaf.index) not in self._index
        ]
        if not spans:
            return
        lo = min(s[2] for s in spans)
        hi = max(s[2] + s[3] for s in spans)
        if lo < 0 or hi > self.size or hi - lo > _MAX_INDEX_BYTES:
            return
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            if (st.st_size, st.st_mtime_ns) != self.identity:
                return
            region = os.pread(f.fileno(), hi - lo, lo)
        buf = np.frombuffer(region, dtype=np.uint8).copy()
        found: list[tuple[int, int, int, int]] = []  # (group, leaf, first varint's byte, n)
        for g, c, at, n in spans:
            s = at - lo
            if n < 2 or s + n > len(buf) or buf[s] != 0x19 or buf[s + 1] & 15 != 12:
                continue
            count, p = int(buf[s + 1]) >> 4, s + 2
            if count == 15:
                try:
                    count, p = _varint(region, p)
                except IndexError:
                    continue
            if count == 0 or buf[s + n - 1] != 0:
                continue
            buf[s:p] = 0  # the list's header: now 1-byte varints, so entries start fresh
            found.append((g, c, p, count))
        if not found:
            return
        try:
            v = _varints(buf)
        except Unsupported:
            return
        ends = np.flatnonzero(buf < 0x80)[: len(v)]
        counts = np.array([f[3] for f in found], dtype=np.int64)
        first = np.searchsorted(ends, np.array([f[2] for f in found]))
        room = first + 7 * counts <= len(v)
        owner = np.repeat(np.arange(len(found)), counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        at = np.minimum(first[owner] + 7 * within, max(len(v) - 7, 0))
        cols = v[at[:, None] + np.arange(7)] if len(v) >= 7 else np.zeros((len(at), 7), int)
        zz = cols[:, [1, 3, 5]]
        offsets, sizes, firsts = ((zz >> 1) ^ -(zz & 1)).T
        rows = self.group_rows[np.array([f[0] for f in found])]
        bad = (
            (cols[:, 0] != 0x16)
            | (cols[:, 2] != 0x15)
            | (cols[:, 4] != 0x16)
            | (cols[:, 6] != 0)
            | (offsets < 0)
            | (sizes <= 0)
            | (offsets + sizes > self.size)
            | (firsts >= np.maximum(rows[owner], 1))
            | np.where(within == 0, firsts != 0, np.diff(firsts, prepend=-1) <= 0)
        )
        broken = np.bincount(owner[bad], minlength=len(found)) > 0
        starts = np.cumsum(counts) - counts
        got: dict[tuple[int, int], tuple[array[int], array[int], array[int]]] = {}
        for i, (g, c, _, count) in enumerate(found):
            if broken[i] or not room[i]:
                continue
            part = slice(int(starts[i]), int(starts[i] + count))
            o, z, r = (
                array("q", a[part].astype("<i8").tobytes()) for a in (offsets, sizes, firsts)
            )
            got[(g, c)] = (o, z, r)
        with self._lock:
            for key, value in got.items():
                self._index.setdefault(key, value)

    def _meta(self, g: int, leaf: _Leaf) -> dict[int, Any]:
        cc = self._chunks[g][leaf.index]
        meta = cc.get(3)
        if not isinstance(meta, dict):
            raise Unsupported("column chunk without metadata")
        if meta.get(1) != leaf.physical:
            raise Unsupported("column chunk of another type")
        return meta

    def _dictionary(self, fd: int, g: int, leaf: _Leaf, meta: dict[int, Any]) -> list[Any]:
        key = (g, leaf.index)
        with self._lock:
            got = self._dicts.get(key)
            if got is not None:
                self._dicts.move_to_end(key)
                return got
        at = meta.get(11)
        end = meta.get(9)
        if at is None or end is None or not 0 <= at < end <= self.size:
            raise Unsupported("dictionary page not found")
        raw = os.pread(fd, int(end) - int(at), int(at))
        header, _, body = self._page(raw, meta)
        d = header.get(7)
        if header.get(1) != _DICTIONARY_PAGE or not isinstance(d, dict):
            raise Unsupported("not a dictionary page")
        n = int(d.get(1, 0))
        if d.get(2, _PLAIN) not in (_PLAIN, _PLAIN_DICTIONARY) or n > _MAX_DICTIONARY:
            raise Unsupported("dictionary too large or not PLAIN")
        values = _plain_all(body, 0, len(body), leaf.physical, n)
        with self._lock:
            self._dicts[key] = values
            while len(self._dicts) > _DICTIONARIES:
                self._dicts.popitem(last=False)
        return values

    @staticmethod
    def _page(raw: bytes, meta: dict[int, Any]) -> tuple[dict[int, Any], memoryview, memoryview]:
        """A page's header, its v2 definition levels (as written, uncompressed; empty for
        other pages) and the rest of its body, decompressed. ``raw`` is exactly the page,
        header included (the offset index gives its size), so the body is its last
        ``compressed_page_size`` bytes and the header's statistics need not be parsed."""
        b = memoryview(raw)
        header = page_header(b)
        csize = int(header.get(3, -1))
        usize = int(header.get(2, -1))
        if csize < 0 or usize < 0 or csize > len(b) - header[0]:
            raise Unsupported("page sizes out of range")
        body = b[len(b) - csize :]
        codec = _CODECS.get(int(meta.get(4, 0)), "?")
        if codec == "?":
            raise Unsupported("compression codec")
        skip = 0
        v2 = header.get(8)
        if header.get(1) == _DATA_PAGE_V2 and isinstance(v2, dict):
            if int(v2.get(6, 0)):
                raise Unsupported("repetition levels")
            skip = int(v2.get(5, 0))
            if not 0 <= skip <= csize:
                raise Unsupported("levels longer than the page")
            if not v2.get(7, True):
                codec = None
        if codec is None:
            if csize != usize:
                raise Unsupported("uncompressed page of the wrong size")
            return header, body[:skip], body[skip:]
        return header, body[:skip], _decompress(codec, body[skip:], usize - skip)

    # -- one value ------------------------------------------------------------------------
    def _value(self, fd: int, g: int, leaf: _Leaf, local: int, pages: dict[Any, Any]) -> Any:
        """Row ``local`` of row group ``g``'s chunk of ``leaf``; ``pages`` keeps the pages
        read by this call of :meth:`take` (rows sharing a page read it once)."""
        offsets, sizes, firsts = self._pages(fd, g, leaf)
        meta = self._meta(g, leaf)
        p = bisect.bisect_right(firsts, local) - 1
        k = local - firsts[p]
        page = pages.get((g, p))
        if page is None:
            page = pages[(g, p)] = self._page(os.pread(fd, sizes[p], offsets[p]), meta)
        header, levels, body = page
        kind = header.get(1)
        if kind == _DATA_PAGE_V2:
            h = header.get(8) or {}
            if k >= int(h.get(3, 0)):
                raise Unsupported("row past the page")
            values_at = 0
            if leaf.nullable and int(h.get(2, 0)):
                level, ones = rle_at(levels, 0, len(levels), 1, k)
                if not level:
                    return None
                k = ones
            encoding = int(h.get(4, _PLAIN))
        elif kind == _DATA_PAGE:
            h = header.get(5) or {}
            values_at = 0
            if k >= int(h.get(1, 0)):
                raise Unsupported("row past the page")
            if leaf.nullable:
                if int(h.get(3, _RLE)) != _RLE:
                    raise Unsupported("definition levels not RLE")
                n = struct.unpack_from("<i", body, 0)[0]
                if not 0 <= n <= len(body) - 4:
                    raise Unsupported("definition levels longer than the page")
                level, ones = rle_at(body, 4, 4 + n, 1, k)
                if not level:
                    return None
                k = ones
                values_at = 4 + n
            encoding = int(h.get(2, _PLAIN))
        else:
            raise Unsupported("not a data page")
        if encoding in (_RLE_DICTIONARY, _PLAIN_DICTIONARY):
            values = self._dictionary(fd, g, leaf, meta)
            width = body[values_at]
            if width > 32:
                raise Unsupported("dictionary index width")
            i, _ = rle_at(body, values_at + 1, len(body), width, k)
            if i >= len(values):
                raise Unsupported("dictionary index out of range")
            return values[i]
        if encoding == _RLE and leaf.physical == _BOOLEAN:
            n = struct.unpack_from("<i", body, values_at)[0]
            return bool(rle_at(body, values_at + 4, values_at + 4 + n, 1, k)[0])
        if encoding == _DELTA_BINARY_PACKED and leaf.physical in (_INT32, _INT64):
            got, total, _ = delta_prefix(body, values_at, len(body), k + 1)
            if k >= total:
                raise Unsupported("value past the page")
            value = int(got[k])
            return value if leaf.physical == _INT64 else ((value + 2**31) % 2**32) - 2**31
        if encoding == _DELTA_LENGTH_BYTE_ARRAY and leaf.physical == _BYTE_ARRAY:
            lengths, total, data = delta_prefix(body, values_at, len(body), k + 1)
            if k >= total or (lengths < 0).any():
                raise Unsupported("value past the page")
            at = data + int(lengths[:k].sum())
            n = int(lengths[k])
            if at + n > len(body):
                raise Unsupported("byte array past the page")
            return bytes(body[at : at + n])
        if encoding != _PLAIN:
            raise Unsupported(f"encoding {encoding}")
        return _plain_at(body, values_at, leaf.physical, k)

    def take(self, local: np.ndarray, columns: list[str]) -> pa.Table:
        """Rows ``local`` (positions in this file) of those ``columns`` this reader can
        read, in the order given, each built as its leaf's decoded type. A column found
        unreadable on the way (a page in an encoding not read here, a dictionary too big)
        is left out of the result, and out of :meth:`readable` from then on; the caller
        reads it another way. :class:`Unsupported` if the file changed since it was opened.
        """
        local = np.asarray(local, dtype=np.int64)
        if len(local) and (local.min() < 0 or local.max() >= self.group_starts[-1]):
            raise IndexError("row out of range")
        groups = (np.searchsorted(self.group_starts, local, side="right") - 1).tolist()
        within = (local - self.group_starts[groups]).tolist() if len(local) else []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if (st.st_size, st.st_mtime_ns) != self.identity:
                raise Unsupported("the file changed since its footer was read")
            arrays, names = [], []
            for name in self.readable(columns):
                leaf = self.leaves[name]
                pages: dict[tuple[int, int], Any] = {}
                try:
                    got = [
                        self._value(fd, g, leaf, r, pages)
                        for g, r in zip(groups, within, strict=True)
                    ]
                    arrays.append(_array(got, leaf.arrow))
                except _MALFORMED:
                    with self._lock:
                        self.leaves.pop(name, None)
                    continue
                names.append(name)
        finally:
            os.close(fd)
        return pa.Table.from_arrays(arrays, names=names)


def _array(values: list[Any], t: pa.DataType) -> pa.Array:
    if t == pa.string():
        values = [None if v is None else _utf8(v) for v in values]
    elif t == pa.uint32() or t == pa.uint64():  # stored as signed integers of that width
        mask = (1 << t.bit_width) - 1
        values = [None if v is None else v & mask for v in values]
    return pa.array(values, type=t)


def _decompress(codec: str, data: memoryview, size: int) -> memoryview:
    """``data`` decompressed, exactly ``size`` bytes. Snappy (Parquet's default) through
    cramjam: pyarrow's Codec costs ~20 us more per call, a third of a value's read."""
    try:
        if codec == "snappy":
            out = memoryview(cramjam.snappy.decompress_raw(data))
        else:
            out = memoryview(_codec(codec).decompress(data, decompressed_size=size))
    except (pa.ArrowException, ValueError, cramjam.DecompressionError) as exc:
        raise Unsupported(f"page does not decompress: {exc}") from None
    if out.nbytes != size:
        raise Unsupported("page decompresses to another size")
    return out.cast("B") if out.format != "B" else out  # pyarrow's buffers index as signed


_CODEC_OBJECTS: dict[str, pa.Codec] = {}


def _codec(name: str) -> pa.Codec:
    got = _CODEC_OBJECTS.get(name)
    if got is None:
        got = _CODEC_OBJECTS[name] = pa.Codec(name)
    return got


def _utf8(v: bytes) -> str:
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported("a string that is not UTF-8") from None


_FIXED = {_INT32: ("<i", 4), _INT64: ("<q", 8), _FLOAT: ("<f", 4), _DOUBLE: ("<d", 8)}


def _plain_at(b: memoryview, p: int, physical: int, k: int) -> Any:
    """The ``k``-th PLAIN value of ``physical`` type from ``b[p:]``."""
    fixed = _FIXED.get(physical)
    if fixed is not None:
        at = p + k * fixed[1]
        if at + fixed[1] > len(b):
            raise Unsupported("value past the page")
        return struct.unpack_from(fixed[0], b, at)[0]
    if physical == _BOOLEAN:
        at = p + k // 8
        if at >= len(b):
            raise Unsupported("value past the page")
        return bool((b[at] >> (k % 8)) & 1)
    if physical == _BYTE_ARRAY:
        end = len(b)
        p = _skip_byte_arrays(b, p, end, k)
        if p + 4 > end:
            raise Unsupported("value past the page")
        n = _I32(b, p)[0]
        if n < 0 or p + 4 + n > end:
            raise Unsupported("byte array past the page")
        return bytes(b[p + 4 : p + 4 + n])
    raise Unsupported(f"physical type {physical}")


_I32 = struct.Struct("<i").unpack_from


def _skip_byte_arrays(b: Any, p: int, end: int, k: int) -> int:
    """The position of the ``k``-th PLAIN byte array from ``b[p:]``.

    Each value is its 4-byte length, then its bytes, so finding the ``k``-th means
    stepping over the ones before it. Values of one length in a row (ids, paths, hashes,
    numbered names) are stepped over together: a strided numpy view checks that the next
    ``n`` lengths are all the current one. Where lengths vary, values are stepped over one
    by one in Python, for a stretch that doubles after each failed try, so ragged pages
    cost little more than the plain walk.
    """
    stretch = 16
    while k > 0:
        if p + 4 > end:
            raise Unsupported("value past the page")
        length = _I32(b, p)[0]
        if length < 0:
            raise Unsupported("negative byte array length")
        step = 4 + length
        n = min(k, (end - p) // step)
        run = 0
        if n >= 16:
            lens = np.ndarray((n,), dtype="<i4", buffer=b, offset=p, strides=(step,))
            bad = np.flatnonzero(lens != length)
            run = n if not len(bad) else int(bad[0])
            p += run * step
            k -= run
        if run < 16:  # lengths vary here: walk a stretch one by one
            for _ in range(min(k, stretch)):
                if p + 4 > end:
                    raise Unsupported("value past the page")
                p += 4 + _I32(b, p)[0]
                k -= 1
            stretch *= 2
    return p


def _plain_all(b: memoryview, p: int, end: int, physical: int, n: int) -> list[Any]:
    """All ``n`` PLAIN values of a dictionary page."""
    fixed = _FIXED.get(physical)
    if fixed is not None:
        if p + n * fixed[1] > end:
            raise Unsupported("dictionary past its page")
        return list(struct.unpack_from(f"<{n}{fixed[0][1]}", b, p))
    if physical == _BYTE_ARRAY:
        out = []
        for _ in range(n):
            if p + 4 > end:
                raise Unsupported("dictionary past its page")
            m = _I32(b, p)[0]
            if m < 0 or p + 4 + m > end:
                raise Unsupported("dictionary value past its page")
            out.append(bytes(b[p + 4 : p + 4 + m]))
            p += 4 + m
        return out
    raise Unsupported(f"dictionary of physical type {physical}")
