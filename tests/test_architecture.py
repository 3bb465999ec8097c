"""The import graph docs/architecture.md draws is the one the code has.

Layers, bottom up: leaf modules (``_errors``, ``_digest``, ``_names``, ``_progress``,
``_format``) -> ``media/`` -> ``engine/`` -> the data model (``table`` and the modules it is made
of) -> ``artifacts/`` -> the API (``run``, ``_compare``, ``data_types``, the package) ->
``widget/``. A module imports only from its own layer or below; the one way up is
``_display.py``, the display hook, which imports widget code lazily when a notebook shows
something.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dsviz_widget"

LEAVES = {"_errors", "_digest", "_names", "_progress", "_format"}
MODEL = {
    "_cells",
    "_derived",
    "_column",
    "_column_types",
    "_joined",
    "_storage",
    "_table_memory",
    "_table_parquet",
    "_table_dask",
    "_table_rules",
    "_frames",
    "table",
}
API = {
    "_runs",
    "_run_init",
    "_run_current",
    "_lineage_graph",
    "_run_config",
    "_run_summary",
    "_run_history",
    "_run_media",
    "_compare",
    "data_types",
    "errors",
    "__init__",
    "_cli",
    "__main__",
    "_display",
}
RANK = {"leaf": 0, "media": 1, "engine": 2, "model": 3, "artifacts": 4, "api": 5, "widget": 6}
HOOK = "_display"


def layer(module: str) -> str:
    """The layer of ``dsviz_widget.<...>`` given as its dotted path below the package."""
    top = module.split(".")[0]
    if top in ("media", "engine", "artifacts", "widget"):
        return top
    if top in LEAVES:
        return "leaf"
    if top in MODEL:
        return "model"
    if top in API or top == "":
        return "api"
    raise AssertionError(
        f"dsviz_widget/{top}: a module no layer claims; add it to tests/test_architecture.py"
    )


def imports(path: Path) -> list[tuple[str, int]]:
    """``(module below the package, line)`` for every import of our own code, lazy ones too,
    leaving out ``if TYPE_CHECKING:`` blocks (annotations only, never run)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.module == "dsviz_widget":
            out += [(alias.name, node.lineno) for alias in node.names]
        elif node.module.startswith("dsviz_widget."):
            out.append((node.module.removeprefix("dsviz_widget."), node.lineno))
    return out


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        name = ".".join(rel.parts)
        out.append((name.removesuffix(".__init__") if name != "__init__" else "", path))
    return out


def test_every_import_goes_down_or_sideways() -> None:
    wrong = []
    for name, path in modules():
        if name == HOOK:
            continue
        src = layer(name)
        for target, line in imports(path):
            if target.split(".")[0] == HOOK:
                continue  # the display hook: the one way up, checked below
            dst = layer(target)
            if RANK[dst] > RANK[src]:
                wrong.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} ({src}) imports {target} ({dst})"
                )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_only_the_display_hook_imports_widget_code_from_below() -> None:
    outside = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for name, path in modules()
        if layer(name) != "widget" and name != HOOK
        for target, line in imports(path)
        if layer(target) == "widget"
    ]
    assert not outside, outside
    hook = PACKAGE / f"{HOOK}.py"
    tree = ast.parse(hook.read_text())
    top_level = [
        n
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("dsviz_widget.widget")
    ]
    assert not top_level, "the display hook must import widget code lazily, inside its functions"


def test_the_engine_knows_only_the_storage_format() -> None:
    """The engine reads Arrow schemas and kinds; it never sees Table, the store or media."""
    for name, path in modules():
        if layer(name) == "engine":
            for target, line in imports(path):
                assert layer(target) in ("engine", "leaf"), f"{path.name}:{line} imports {target}"


def test_the_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from dsviz_widget.widget import show\n")
    assert imports(bad) == [("widget", 2)]
    assert RANK[layer("widget")] > RANK[layer("table")]
    guarded = tmp_path / "y.py"
    guarded.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dsviz_widget.table import Table\n"
    )
    assert imports(guarded) == []
