"""docs/wandb-compat.md stays true: every call or name a `same` / `different` row starts with
exists on dsviz_widget, with the keyword arguments it spells out.

The doc's first column names things the way W&B code does. Its conventions, mapped here:
``wandb.x`` and ``dv.x`` are the package; ``run.`` a run, ``art.`` / ``artifact.`` /
``Artifact.`` an artifact, ``table.`` / ``Table.`` a table, ``img.`` / ``Image.`` an image,
``clip.`` / ``Audio.`` a clip, ``config.`` / ``summary.`` the run's; a bare name (``log``,
``add_data(*row)``, ``mode``) is looked up on the section's objects, then the package, then as a
parameter of the section's constructor (``Image``, ``init``, ``Artifact``, ``Table``);
``from wandb.x import y`` is imported with ``wandb`` read as ``dsviz_widget``. Rows whose first
cell starts with prose ("cells: numpy scalars", "history columns") describe behaviour, not a
name, and `unsupported` rows need name nothing that exists.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsviz_widget as dv

DOC = Path(__file__).resolve().parents[1] / "docs" / "wandb-compat.md"
STATUSES = {"same", "different", "unsupported"}

# Section -> (the constructor whose parameters bare names may be, the objects bare names are
# looked up on, by the names of OBJECTS below).
SECTIONS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "Media": (dv.Image, ("img",)),
    "Runs": (dv.init, ("wandb", "run")),
    "Artifacts": (dv.Artifact, ("art", "wandb")),
    "Tables": (dv.Table, ("table", "wandb")),
}
# Names the doc uses that are keys of the dicts W&B code passes, not attributes.
DICT_KEYS = {"class_labels": "a key of Image's boxes= and masks= groups"}


def cells(line: str) -> list[str]:
    """A Markdown table row's cells; `|` inside back-quotes or escaped does not split."""
    out, cell, quoted, i = [], "", False, 0
    body = line.strip().removeprefix("|").removesuffix("|")
    while i < len(body):
        ch = body[i]
        if ch == "\\" and body[i + 1 : i + 2] == "|":
            cell, i = cell + "|", i + 2
            continue
        if ch == "`":
            quoted = not quoted
        if ch == "|" and not quoted:
            out.append(cell.strip())
            cell = ""
        else:
            cell += ch
        i += 1
    out.append(cell.strip())
    return out


def rows() -> Iterator[tuple[str, str, str, str]]:
    """(section, first cell, status, the row's text) for every row of every table."""
    section = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("|"):
            parts = cells(line)
            if parts[0] in ("Call / argument", "") or set(parts[0]) <= set("-: "):
                continue
            assert len(parts) == 3, f"a row with {len(parts)} cells: {line}"
            yield section, parts[0], parts[1], line


def leading_names(first: str) -> list[str]:
    """The code spans a first cell starts with: the first, and any listed right after it
    (joined by `,`, `/` or `→`); none when the cell starts with prose."""
    names = []
    rest = first.strip()
    while rest.startswith("`"):
        end = rest.index("`", 1)
        names.append(rest[1:end])
        rest = rest[end + 1 :].lstrip()
        joined = re.match(r"^(,|/|→)\s*", rest)
        if not joined:
            break
        rest = rest[joined.end() :]
    return names


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """What each prefix of the doc stands for: a live run and a logged artifact included."""
    store = tmp_path_factory.mktemp("store")
    with dv.init(project="doc", job_type="check", dir=store) as run:
        table = dv.Table(columns=["id", "image"], data=[[1, dv.Image(np.zeros((4, 4, 3), "u1"))]])
        art = dv.Artifact("doc", type="dataset")
        art.add(table, "t")
        run.log_artifact(art)
        img = dv.Image(np.zeros((4, 4, 3), np.uint8))
        clip = dv.Audio(np.zeros(8, np.float32), sample_rate=8000)
        yield {
            "wandb": dv,
            "dv": dv,
            "run": run,
            "art": art,
            "artifact": art,
            "Artifact": art,
            "table": table,
            "Table": table,
            "img": img,
            "Image": img,
            "clip": clip,
            "Audio": clip,
            "config": run.config,
            "summary": run.summary,
        }


def lookup(path: str, owners: list[Any]) -> Any:
    """The object a dotted path names on the first owner that has its first part."""
    first, *more = path.split(".")
    for owner in owners:
        if first == "__setitem__" or hasattr(owner, first):
            value = getattr(owner, first)
            for part in more:
                value = getattr(value, part)
            return value
    raise AttributeError(path)


def check_name(span: str, section: str, objects: dict[str, Any]) -> None:
    """Fails, saying what is missing, unless ``span`` names something dsviz_widget has."""
    constructor, owner_names = SECTIONS[section]
    span = re.sub(r"^with\s+|\s+as\s+\w+:$", "", span.strip())
    if span.startswith("from "):
        exec(span.replace("from wandb", "from dsviz_widget"), {})
        return
    if span.startswith(("np.", "numpy.")):
        return  # numpy's, not ours
    if " == " in span:  # `Image == Image`: the class's equality
        assert "__eq__" in vars(type(objects[span.split(" == ")[0]]))
        return
    item = re.match(r"^(\w+)\[\w+\](\s*=)?", span)  # `art[name]`, `art[name] = obj`
    if item:
        assert hasattr(objects[item.group(1)], "__setitem__" if item.group(2) else "__getitem__")
        return
    call = re.match(r"^([A-Za-z_][\w.]*)\s*(?:\((.*)\))?", span, re.S)
    assert call, span
    path, args = call.group(1), call.group(2)
    if "=" in span and args is None:  # `normalize=True`, `boxes={...}`: a parameter
        path = span.split("=")[0]
    prefix, _, rest = path.partition(".")
    if rest and prefix in objects:
        target = lookup(rest, [objects[prefix]])
    elif path in DICT_KEYS:
        return
    else:
        owners = [objects[o] for o in owner_names]
        try:
            target = lookup(path, [*owners, dv])
        except AttributeError:
            params = inspect.signature(constructor).parameters
            assert path in params, f"{path!r} is not an attribute nor a parameter of {constructor}"
            return
    if args and "=" in args:
        params = inspect.signature(target).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            for kw in re.findall(r"(?<![=!<>\w])([A-Za-z_]\w*)\s*=(?!=)", args):
                assert kw in params, f"{path}() has no parameter {kw!r}"


def test_the_doc_has_its_sections_and_statuses() -> None:
    found = list(rows())
    assert {section for section, *_ in found} == set(SECTIONS)
    bad = [line for _, _, status, line in found if status not in STATUSES]
    assert not bad, "rows without a status of same / different / unsupported:\n" + "\n".join(bad)
    assert len(found) > 100


def test_every_same_or_different_row_names_what_exists(objects: dict[str, Any]) -> None:
    missing, checked = [], 0
    for section, first, status, line in rows():
        if status == "unsupported":
            continue
        for span in leading_names(first):
            checked += 1
            try:
                check_name(span, section, objects)
            except Exception as exc:
                missing.append(f"{span!r}: {type(exc).__name__}: {exc}\n  row: {line}")
    assert not missing, "\n".join(missing)
    assert checked > 100


def test_the_parser_reads_the_doc_conventions() -> None:
    assert cells("| `a | b` | same | x \\| y |") == ["`a | b`", "same", "x | y"]
    assert leading_names("`init(name=None)` / `run.name`") == ["init(name=None)", "run.name"]
    assert leading_names("`file_type` (`png`, `jpg`)") == ["file_type"]
    assert leading_names("cells: `datetime`, `date`") == []
    assert leading_names("`from wandb.x import Y` → `from dsviz_widget.x import Y`") == [
        "from wandb.x import Y",
        "from dsviz_widget.x import Y",
    ]


@pytest.mark.parametrize(
    ("span", "section"),
    [
        ("run.nope", "Runs"),
        ("run.log(data, bogus=None)", "Runs"),
        ("art.add(obj, name, bogus=False)", "Artifacts"),
        ("table.nope", "Tables"),
        ("frobnicate(x)", "Tables"),
        ("Image.nope(images)", "Media"),
        ("from wandb.data_types import Video", "Media"),
    ],
)
def test_a_missing_name_fails(span: str, section: str, objects: dict[str, Any]) -> None:
    with pytest.raises((AssertionError, AttributeError, ImportError)):
        check_name(span, section, objects)
