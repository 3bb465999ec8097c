"""``ArtifactEntry``: one file of a logged artifact version, as W&B's ``get_entry`` gives it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dsviz_widget._errors import DsvizError, ValidationError
from dsviz_widget.artifacts._manifest import Entry

if TYPE_CHECKING:
    from dsviz_widget.artifacts._artifact import Artifact


class ArtifactNotLoggedError(DsvizError, AttributeError):
    """A method that needs a logged version (``download``, ``get_entry``, ``wait``) was called
    on an artifact that is not logged yet. An ``AttributeError``, as W&B's of the same name."""


class ArtifactEntry:
    """One file of a logged artifact version.

    ``path`` (also ``name``) is the entry name, ``digest`` the SHA-256 of its bytes, ``size``
    their length, ``ref`` the ``file://`` URI a reference was copied from (else None).

    Examples
    --------
    >>> entry = dv.use_artifact("raw:v0").get_entry("notes.txt")  # doctest: +SKIP
    >>> open(entry.download()).read()                             # doctest: +SKIP
    'hello'
    """

    def __init__(self, artifact: Artifact, path: str, entry: Entry) -> None:
        self._artifact = artifact
        self._entry = entry
        self.path = path
        self.digest = entry.digest
        self.size = entry.size
        self.ref = entry.source
        #: Manifest kind (``file``, ``table``, ``media``, ...), see docs/architecture.md.
        self.kind = entry.kind

    @property
    def name(self) -> str:
        """The entry name (W&B's deprecated alias of ``path``)."""
        return self.path

    def parent_artifact(self) -> Artifact:
        """The artifact version this entry belongs to."""
        return self._artifact

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Write this file as ``<root>/<path>`` and return that path.

        ``root`` defaults to the artifact's download directory (``./artifacts/<name>:v<N>``).
        The bytes are checked against the digest; a file already there with them is kept.
        """
        return self._artifact._download_entry(self.path, self._entry, root)

    def ref_target(self) -> str:
        """The ``file://`` URI of a reference entry."""
        if self.ref is None:
            raise ValidationError(
                f"{self.path!r} is not a reference; only references have a target"
            )
        return self.ref

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArtifactEntry):
            return NotImplemented
        return (self.path, self._entry) == (other.path, other._entry)

    def __hash__(self) -> int:
        return hash((self.path, self._entry))

    def __repr__(self) -> str:
        ref = f", ref={self.ref!r}" if self.ref else ""
        return f"ArtifactEntry(path={self.path!r}, digest={self.digest!r}, size={self.size}{ref})"
