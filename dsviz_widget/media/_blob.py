"""Encoded file bytes identified by their SHA-256, held in memory or read lazily."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dsviz_widget._digest import sha256_bytes

BlobReader = Callable[[str], bytes]


@dataclass(frozen=True)
class Origin:
    """Where a stored file came from: an entry of a logged artifact version.

    A media object carrying an origin is stored in another artifact as a reference to this
    entry (a manifest line), not as a copy.
    """

    artifact: str
    version: int
    entry: str


class Blob:
    """Bytes known by digest. ``data()`` returns them, reading through ``reader`` if needed.

    Readers verify digests (the store raises ``IntegrityError``), so a blob never hands out
    bytes that differ from its digest.
    """

    __slots__ = ("_data", "_reader", "digest", "origin")

    def __init__(
        self,
        digest: str,
        data: bytes | None = None,
        reader: BlobReader | None = None,
        origin: Origin | None = None,
    ) -> None:
        if data is None and reader is None:
            raise ValueError("a Blob needs its bytes or a reader")
        self.digest = digest
        self._data = data
        self._reader = reader
        self.origin = origin

    @classmethod
    def of(cls, data: bytes) -> Blob:
        return cls(sha256_bytes(data), data=data)

    def data(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._reader is not None
        return self._reader(self.digest)

    @property
    def in_memory(self) -> bool:
        return self._data is not None
