"""Tables and media given to ``run.log``: stored as run-scoped artifact versions.

W&B logs ``run.log({"preds": table})`` as a version of the artifact ``run-<run id>-preds``
of type ``run_table`` (entry ``preds``), produced by the run. Images and audio it writes
to the run's files; we have no run files, so they go the same way, into
``run-<run id>-<key>`` of type ``run_media``: one ``Image`` or ``Audio`` is the entry
``<key>``, a list of them a one-column table ``<key>`` (so ``dv.show`` pages through them).
The history row keeps a reference: ``{"_type": ..., "artifact": "run-...:vN", "entry": key}``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Any

from dsviz_widget._names import check_entry_name
from dsviz_widget.artifacts import Artifact
from dsviz_widget.media import Audio, Image
from dsviz_widget.table import JoinedTable, Table

TABLE_TYPE = "run_table"
MEDIA_TYPE = "run_media"
_MEDIA = (Image, Audio)


def is_loggable_media(value: Any) -> bool:
    """A table, an image or audio clip, or a non-empty list or tuple of images / clips."""
    if isinstance(value, (Table, JoinedTable, *_MEDIA)):
        return True
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(v, _MEDIA) for v in value)
    )


def artifact_name(run_id: str, key: str) -> str:
    """``run-<id>-<key>``, made a valid artifact name.

    Characters an artifact name cannot hold are dropped; when any were, a short checksum of
    the key is appended, so ``val/acc`` and ``valacc`` stay two artifacts.
    """
    base = f"run-{run_id}-"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "", key).replace("..", ".")
    if safe != key or len(base + safe) > 128:
        suffix = f"-{zlib.crc32(key.encode('utf-8')):08x}"
        safe = safe[: 128 - len(base) - len(suffix)] + suffix
    return base + safe


def entry_name(key: str) -> str:
    """The key itself when it is a valid entry name (``val/preds`` is), else a safe form."""
    try:
        return check_entry_name(key)
    except ValueError:
        return re.sub(r"[^A-Za-z0-9._/-]+", "_", key).strip("/") or "value"


def log_media(
    run_id: str, key: str, value: Any, log_artifact: Callable[[Artifact], Artifact]
) -> dict[str, Any]:
    """Log ``value`` as the next version of the run's artifact for ``key``; the reference
    stored in the history row and the summary."""
    entry = entry_name(key)
    if isinstance(value, (Table, JoinedTable)):
        art = Artifact(artifact_name(run_id, key), type=TABLE_TYPE)
        art.add(value, entry)
        kind = "table-file" if isinstance(value, Table) else "joined-table"
    else:
        art = Artifact(artifact_name(run_id, key), type=MEDIA_TYPE)
        if isinstance(value, _MEDIA):
            art.add(value, entry)
            kind = "image-file" if isinstance(value, Image) else "audio-file"
        else:
            art.add(Table(columns=[key], data=[[v] for v in value]), entry)
            kind = "images" if all(isinstance(v, Image) for v in value) else "media-list"
    logged = log_artifact(art)
    ref: dict[str, Any] = {"_type": kind, "artifact": logged.qualified_name, "entry": entry}
    if isinstance(value, Table):
        ref.update(nrows=len(value), ncols=len(value.columns))
    elif isinstance(value, (list, tuple)):
        ref["count"] = len(value)
    return ref
