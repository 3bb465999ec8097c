"""Progress bars for long work: tqdm's auto mode (a widget in notebooks, text in terminals).

The bar only appears once the work has taken more than a second, so quick operations stay
silent. ``DSVIZ_PROGRESS=0`` turns bars off everywhere; ``DSVIZ_PROGRESS_DELAY`` changes the
delay (seconds).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def _enabled() -> bool:
    return os.environ.get("DSVIZ_PROGRESS", "1") not in ("0", "false", "no")


def _delay() -> float:
    try:
        return float(os.environ.get("DSVIZ_PROGRESS_DELAY", "1.0"))
    except ValueError:
        return 1.0


def progress(
    iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """Iterate over ``iterable`` with a delayed progress bar."""
    if not _enabled():
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, desc=desc, total=total, unit=unit, delay=_delay(), leave=False)


def progress_bar(*, desc: str, total: int | None = None, unit: str = "it") -> Any:
    """A manual progress bar (call ``update(n)`` and ``close()``), delayed by a second."""
    from tqdm.auto import tqdm

    return tqdm(
        desc=desc, total=total, unit=unit, delay=_delay(), leave=False, disable=not _enabled()
    )
