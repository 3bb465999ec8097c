"""A notebook cell run again lets go of the views its earlier runs' widgets made.

Re-running ``w = dv.show(table, sort=[...])`` replaces the widget on the page, but the old
widget object lives on in the kernel (ipywidgets keeps every open widget), and with it its
views in the shared engine: each a sorted order file on disk. The kernel cannot tell
whether the old widget is still shown elsewhere (``w`` displayed in another cell), so it is
not closed: its views are released (``ViewModel.close``), and made again if it asks.

The cell is known from IPython's ``ExecutionInfo.cell_id`` (JupyterLab, Notebook 7 and VS
Code send it); without one (a plain IPython terminal) nothing happens. Views are released
after the new run (``post_run_cell``), so the ones the new widget shares with the old (the
same table and query) stay, order files and all.
"""

from __future__ import annotations

import builtins
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsviz_widget.widget._widget import DatasetWidget

_lock = threading.Lock()
# Per cell id, the widgets its runs made; per widget, the run (a counter) that made it.
_made: dict[str, weakref.WeakKeyDictionary[DatasetWidget, int]] = {}
_cell: str | None = None  # the cell running now
_run = 0
_hooked: weakref.WeakSet[Any] = weakref.WeakSet()  # the shells whose events we listen to


def _shell() -> Any:
    # IPython puts get_ipython in builtins while a shell runs; without one, None.
    get = getattr(builtins, "get_ipython", None)
    return get() if callable(get) else None


def made_in_cell(widget: DatasetWidget) -> None:
    """Remember that the running cell made ``widget`` (called as widgets are made)."""
    shell = _shell()
    if shell is None:
        return
    with _lock:
        if shell not in _hooked:
            shell.events.register("pre_run_cell", _pre_run_cell)
            shell.events.register("post_run_cell", _post_run_cell)
            _hooked.add(shell)
            global _cell
            _cell = _running_cell(shell)  # this run's pre_run_cell has fired already
        if _cell is not None:
            _made.setdefault(_cell, weakref.WeakKeyDictionary())[widget] = _run


def _running_cell(shell: Any) -> str | None:
    """The running cell's id from the request the kernel is answering (ipykernel keeps it
    as the shell's ``parent_header``; the front end sends ``cellId`` in its metadata)."""
    parent = getattr(shell, "parent_header", None)
    meta = parent.get("metadata") if isinstance(parent, dict) else None
    cell = meta.get("cellId") if isinstance(meta, dict) else None
    return cell if isinstance(cell, str) and cell else None


def _pre_run_cell(info: Any) -> None:
    global _cell, _run
    with _lock:
        _cell = getattr(info, "cell_id", None) or None
        _run += 1


def _post_run_cell(result: Any) -> None:
    global _cell
    with _lock:
        cell, run, _cell = _cell, _run, None
        made = _made.get(cell) if cell is not None else None
        earlier = [w for w, r in list(made.items()) if r != run] if made is not None else []
        for w in earlier:
            del made[w]  # type: ignore[union-attr]  # earlier is empty when made is None
    for w in earlier:
        w.release_views()
