"""Issue item 3: names and version tags are parsed whole (``fullmatch``), with ASCII digits,
and version numbers are bounded to what SQLite holds, with typed errors naming the input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import dsviz_widget as dv

MAX_VERSION = 2**63 - 1  # SQLite INTEGER


def _log(name: str, aliases: list[str] | None = None) -> dv.Artifact:
    art = dv.Artifact(name, type="t")
    art.add(dv.Table(columns=["a"], data=[[1]]), "t")
    return dv.log_artifact(art, aliases=aliases)


@pytest.mark.parametrize("name", ["digits\n", "digits\r\n", "dígits", "digits\u0663", "d\n"])
def test_a_name_with_a_trailing_newline_or_non_ascii_is_refused(store_dir: Path, name: str) -> None:
    _log("digits")
    with pytest.raises(dv.UnsafePathError, match="invalid artifact name"):
        dv.Artifact(name, type="t")
    with pytest.raises(dv.UnsafePathError, match="invalid artifact name"):
        dv.use_artifact(f"{name}:v0")
    with pytest.raises(dv.UnsafePathError, match="invalid artifact name"):
        dv.use_artifact(name)


@pytest.mark.parametrize("alias", ["best\n", "v1", "v\u0661", "bést", "latest"])
def test_bad_aliases_are_refused(store_dir: Path, alias: str) -> None:
    with pytest.raises(dv.ValidationError, match="alias"):
        _log("digits", aliases=[alias])
    with pytest.raises(dv.NotFoundError):
        dv.use_artifact("digits")  # nothing was logged


@pytest.mark.parametrize("tag", ["v\u0660", "v\u0661", "v\uff10", "v0\n", "v\u00b2", "v 0"])
def test_only_ascii_digits_make_a_version_number(store_dir: Path, tag: str) -> None:
    _log("digits")
    with pytest.raises(dv.NotFoundError, match=re.escape(f"no version or alias {tag!r}")):
        dv.use_artifact(f"digits:{tag}")


@pytest.mark.parametrize(
    "tag",
    [f"v{MAX_VERSION + 1}", "v99999999999999999999", pytest.param("v" + "9" * 5000, id="v9x5000")],
)
def test_a_huge_version_number_is_a_typed_error_naming_it(store_dir: Path, tag: str) -> None:
    _log("digits")
    with pytest.raises(dv.ValidationError, match="out of range") as err:
        dv.use_artifact(f"digits:{tag}")
    assert tag[:40] in str(err.value)


def test_version_numbers_at_the_bounds(store_dir: Path) -> None:
    _log("digits")
    assert dv.use_artifact("digits:v0").version == "v0"
    assert dv.use_artifact("digits:v000").version == "v0"  # leading zeros, as before
    with pytest.raises(dv.NotFoundError, match=f"no version v{MAX_VERSION}"):
        dv.use_artifact(f"digits:v{MAX_VERSION}")
    store = dv.init(dir=store_dir).store
    for bad in (MAX_VERSION + 1, -1, True):
        with pytest.raises(dv.ValidationError, match="version of 'digits'"):
            store.catalog.version("digits", bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["\u0663", 2**63, True, 1.5, "3"])
def test_a_stored_reference_with_a_bad_version_is_corrupt(version: object) -> None:
    from dsviz_widget.artifacts._manifest import Manifest

    entry = {
        "digest": "0" * 64,
        "size": 1,
        "kind": "file",
        "ref": {"artifact": "a", "version": version},
    }
    doc = json.dumps({"format": 2, "entries": {"f": entry}}).encode()
    with pytest.raises(dv.IntegrityError, match="malformed manifest entry"):
        Manifest.from_bytes(doc, "crafted")


def test_a_digest_with_a_trailing_newline_is_not_a_digest() -> None:
    from dsviz_widget.artifacts._objects import check_digest

    with pytest.raises(dv.ValidationError, match="not a SHA-256 digest"):
        check_digest("0" * 64 + "\n")
