"""Compare mode's default pins: the key columns and the ``changed`` marker stay in view.

A comparison is read across: each compared column's versions stand side by side, so a wide
comparison scrolls sideways, and a row means nothing once its key has scrolled away. The widget
pins them when it opens (the ``pinned`` trait, so Python sees it and the user can unpin them).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The compare source's row flag (``compare_sources``): true where a change column differs.
CHANGED = "changed"


def default_pins(names: Sequence[str], labels: Sequence[str]) -> list[str]:
    """The key columns of a compare source's column ``names``, then ``changed``.

    Every column of the compared tables but the key comes back suffixed (``pred@v0``, and
    ``pred@delta`` / ``pred@changed`` made from them), so the keys are the names without a
    version's suffix or one of those.

    Examples
    --------
    >>> default_pins(["id", "pred@v0", "pred@v1", "pred@changed", "changed", "_row"], ["v0", "v1"])
    ['id', 'changed']
    """
    bases = {n.rsplit("@", 1)[0] for n in names if "@" in n and n.rsplit("@", 1)[1] in labels}
    keys = []
    for name in names:
        if name in (CHANGED, "_row"):
            continue
        base, _, suffix = name.rpartition("@")
        if base and (suffix in labels or (suffix in ("delta", "changed") and base in bases)):
            continue
        keys.append(name)
    return keys + ([CHANGED] if CHANGED in names else [])
