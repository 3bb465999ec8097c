"""W&B code that catches ``wandb.errors.*`` or ``wandb.Error`` keeps working after
``import dsviz_widget as wandb``: each error we raise is the W&B class of the same meaning."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import dsviz_widget as wandb
from dsviz_widget.errors import CommError, Error, UnsupportedError, UsageError


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    with wandb.init(project="errors", dir=tmp_path / "store") as r:
        yield r


def test_the_module_is_reachable_the_way_wandb_code_spells_it() -> None:
    import dsviz_widget.errors as by_import

    assert wandb.errors is by_import
    assert wandb.errors.Error is wandb.Error is wandb.DsvizError
    for name in ("CommError", "UsageError", "UnsupportedError", "AuthenticationError"):
        assert issubclass(getattr(wandb.errors, name), wandb.Error), name
    assert issubclass(wandb.errors.AuthenticationError, CommError)


def test_a_missing_artifact_is_a_comm_error_the_create_if_missing_idiom_works(run) -> None:  # type: ignore[no-untyped-def]
    # The idiom W&B users write: use the dataset if it is there, else make it.
    try:
        art = run.use_artifact("dataset:latest")
    except wandb.errors.CommError as exc:
        assert "dataset" in exc.message and exc.message == str(exc)
        made = wandb.Artifact("dataset", type="dataset")
        made.add(wandb.Table(columns=["x"], data=[[1]]), "t")
        run.log_artifact(made)
        art = run.use_artifact("dataset:latest")
    assert art.version == "v0"
    with pytest.raises(CommError):
        run.use_artifact("dataset:v7")  # a missing version, too
    with pytest.raises(KeyError):  # and still the KeyError it always was
        run.use_artifact("dataset:no-such-alias")


def test_wrong_values_are_usage_errors_and_still_value_errors(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as caught:
        wandb.Image([[1, 2], [3]])  # ragged: not an image
    assert isinstance(caught.value, ValueError)
    with pytest.raises(UsageError):
        wandb.Artifact("bad name/..", type="dataset")
    with pytest.raises(TypeError):  # a cell of the wrong type stays W&B's TypeError ...
        wandb.Table(columns=["n"], data=[[1], ["x"]], dtype=int)
    with pytest.raises(UsageError):  # ... and is a usage error too
        wandb.Table(columns=["n"], data=[[1], ["x"]], dtype=int)


def test_what_we_do_not_offer_is_an_unsupported_error(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedError, match="incremental"):
        wandb.Artifact("d", type="dataset", incremental=True)
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(UnsupportedError, match="s3://"):
        art.add_reference("s3://bucket/key")
    with pytest.raises(UnsupportedError, match="fork_from"):
        wandb.init(project="p", dir=tmp_path, fork_from="abc?_step=3")
    with pytest.raises(ValueError):  # the ValueError it was before it had a class
        art.add_reference("https://example.com/x.png")


def test_a_store_that_cannot_be_opened_is_a_comm_error_keeping_its_errno(tmp_path: Path) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("not a store")
    with pytest.raises(CommError) as caught:
        wandb.init(project="p", dir=taken)
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EEXIST
    assert str(taken) in caught.value.message
    assert taken.read_text() == "not a store"  # nothing lost


def test_catching_error_catches_everything_we_raise(run) -> None:  # type: ignore[no-untyped-def]
    for bad in (
        lambda: run.use_artifact("nothing:latest"),
        lambda: wandb.Image("not/a/file.png"),
        lambda: wandb.Table(columns=["a"], data=[[1, 2]]),
    ):
        with pytest.raises(Error):
            bad()
