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
    bar = _bar_class()(iterable, desc=desc, total=total, unit=unit, delay=_delay(), leave=False)
    try:
        yield from bar
    finally:
        bar.close()


def progress_bar(*, desc: str, total: int | None = None, unit: str = "it") -> Any:
    """A manual progress bar (call ``update(n)`` and ``close()``), delayed by a second."""
    return _bar_class()(
        desc=desc, total=total, unit=unit, delay=_delay(), leave=False, disable=not _enabled()
    )


_BAR: type | None = None


def _bar_class() -> type:
    """tqdm's auto class; in a notebook, one whose bar leaves no output once it is done.

    tqdm's notebook bar with ``leave=False`` only hides its widget on ``close()``: the cell
    keeps a display output of it, which a saved or nbclient-run notebook shows as a stale
    ``writing 't': 0%|`` line or a dead widget. This one displays its bar under a display id
    and, when done, replaces that output with nothing. A bar that ended in an error stays.
    """
    global _BAR
    if _BAR is not None:
        return _BAR
    from tqdm.auto import tqdm

    try:
        from tqdm.notebook import tqdm_notebook
    except ImportError:  # pragma: no cover - tqdm always ships it
        _BAR = tqdm
        return tqdm
    if not issubclass(tqdm, tqdm_notebook):
        _BAR = tqdm  # a terminal: leave=False already erases the line
        return tqdm

    from IPython import display as ipython_display

    show: Any = ipython_display.display  # untyped
    base: Any = tqdm

    class NotebookBar(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._handle: Any = None
            # The bar is shown by display() below (with a display id), never by tqdm itself.
            super().__init__(*args, display=False, **kwargs)
            if not self.disable and self.delay <= 0:
                self._show()

        def _show(self) -> None:
            self._handle = show(self.container, display_id=True)
            self.displayed = True

        def display(self, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("check_delay", True) and self.delay > 0 and not self.displayed:
                self._show()
            kwargs["check_delay"] = False
            out = super().display(*args, **kwargs)
            closed = kwargs.get("close") and self.container.children[1].bar_style != "danger"
            if closed and self._handle is not None:
                # An empty bundle: the output is gone from the page and from a saved notebook.
                self._handle.update({}, raw=True)
                self._handle = None
            return out

    _BAR = NotebookBar
    return NotebookBar
