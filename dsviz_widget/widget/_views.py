"""Saved views: a widget's view state stored by name next to the artifact it shows.

A view is a small JSON file in the store directory::

    <root>/views/<artifact>/<entry>/<name>.json

Only tables read from a logged artifact have such a place; the file belongs to the table
(artifact name + entry name), not to one version, so a view saved on ``preds:v3`` reopens
on ``preds:v4``.

Unlike everything under ``objects/`` (immutable, content-addressed, written once and
hard-linked into place), a view is *mutable*: saving the same name again replaces it, and
it is never part of a version or of the catalog. So it is written the ordinary way for a
small mutable file: to a temporary file in the same directory, fsynced, then
``os.replace``-d over the old one. Readers see the old view or the new one, never half of
either; when two kernels save the same name at once, the last one wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from dsviz_widget._errors import NotFoundError, ValidationError, store_error
from dsviz_widget._names import check_artifact_name, check_entry_name
from dsviz_widget.artifacts import local_dir

#: The view-state traits a saved view holds (selection and paging are not part of a view).
VIEW_FIELDS = (
    "filter",
    "sort",
    "group_by",
    "columns",
    "hidden_classes",
    "score_threshold",
    "mask_opacity",
    "column_widths",
    "pinned",
    "density",
)
FORMAT = 1


class ViewStore:
    """Where the saved views of one logged table live."""

    def __init__(self, root: Path, artifact: str, entry: str) -> None:
        self.artifact = check_artifact_name(artifact)
        self.entry = check_entry_name(entry)
        self.dir = Path(root) / "views" / artifact / entry

    def path(self, name: str) -> Path:
        check_entry_name(name, what="view name")
        return self.dir / f"{name}.json"

    def save(self, name: str, state: dict[str, Any]) -> Path:
        path = self.path(name)
        doc = {
            "format": FORMAT,
            "artifact": self.artifact,
            "entry": self.entry,
            "view": {k: state[k] for k in VIEW_FIELDS if k in state},
        }
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            # A full disk or a read-only store: the old view (if any) is still whole, and the
            # error names the file, so the user knows where space or permission is missing.
            raise store_error(f"cannot save view {name!r} to {path}", exc) from exc
        finally:
            with contextlib.suppress(OSError):  # cleaning up must not hide the real error
                tmp.unlink(missing_ok=True)
        return path

    def load(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(repr(n) for n in self.names()) or "none"
            raise NotFoundError(
                f"no saved view {name!r} for {self.artifact}/{self.entry} (saved views: {known})"
            ) from None
        except ValueError as exc:
            raise ValidationError(f"saved view {path} is not valid JSON ({exc})") from None
        view = doc.get("view") if isinstance(doc, dict) else None
        if not isinstance(view, dict):
            raise ValidationError(f"saved view {path} has no 'view' object")
        return {k: view[k] for k in VIEW_FIELDS if k in view}

    def names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.dir))[: -len(".json")]
            for p in self.dir.rglob("*.json")
            if not p.name.startswith(".")
        )


def view_store_for(obj: Any) -> ViewStore | None:
    """The view store of a table read from a logged artifact, else ``None``."""
    origin = getattr(obj, "origin", None)  # Table.origin; JoinedTable and Source have none
    if origin is None:
        return None
    # Views stay on this machine, in the store's local directory (for s3:// its working one).
    return ViewStore(local_dir(origin.location), origin.artifact, origin.entry)


NOT_LOGGED = (
    "views are saved with the artifact a table was read from, and this table is not from one: "
    "log it first (art = dv.Artifact('name', type='dataset'); art.add(table, 'entry'); "
    "dv.log_artifact(art)), then show the logged copy "
    "(dv.show(dv.use_artifact('name:latest').get('entry')))"
)
