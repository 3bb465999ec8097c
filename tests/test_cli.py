"""``dsviz demo`` builds the demo store, leaves the notebooks clean and points JupyterLab at the
quickstart. ``--no-launch`` stops before JupyterLab starts; the build is real.
tests/browser/test_demo.py starts it for real and runs the notebook in Chromium."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dsviz_widget as dv

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def dsviz_demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DSVIZ_PROGRESS": "0"}
    return subprocess.run(
        [sys.executable, "-m", "dsviz_widget", "demo", "--no-launch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def lab_command(stdout: str) -> list[str]:
    lines = [
        line for line in stdout.splitlines() if line.startswith("dsviz demo: JupyterLab command: ")
    ]
    assert len(lines) == 1, stdout
    return shlex.split(lines[0].split(": ", 2)[2])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo directory ``dsviz demo --no-browser --port 8765`` built, and what it printed.
    Tests that change it work on a copy."""
    pytest.importorskip("nbclient")
    work = tmp_path_factory.mktemp("demo")
    out = dsviz_demo("--no-browser", "--port", "8765", "--dir", str(work))
    assert out.returncode == 0, out.stdout + out.stderr
    return work, out.stdout


def copy_of(built: tuple[Path, str], tmp_path: Path) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(built[0], work)
    return work


@pytest.mark.slow
def test_demo_builds_the_store_and_opens_the_clean_quickstart(built: tuple[Path, str]) -> None:
    import nbformat

    tmp_path, stdout = built
    # It says what it is doing while it builds: each step, and what the step printed.
    assert f"building the demo store in {tmp_path / 'store'}" in stdout
    cells = sum(
        c.cell_type == "code" for c in nbformat.read(NOTEBOOKS / "01_quickstart.ipynb", 4).cells
    )
    assert f"[2/{cells}] 1. Log the dataset | with dv.init(" in stdout
    assert "digits:v0 1797 rows" in stdout and "epoch 5: accuracy" in stdout
    assert f"[{cells}/{cells}] 5. Lineage" in stdout and "built the demo store in" in stdout
    # The store is real: the quickstart's versions are in it.
    with dv.init(project="test", dir=tmp_path / "store") as run:
        assert run.use_artifact("digits:latest").version == "v0"
        assert run.use_artifact("digits-predictions:epoch-5").version == "v5"
    # The notebooks the user opens are the shipped ones, without the build's outputs.
    for shipped in sorted(NOTEBOOKS.glob("*.ipynb")):
        copy = tmp_path / shipped.name
        assert copy.read_bytes() == shipped.read_bytes(), shipped.name
        nb = nbformat.read(copy, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), shipped.name
    # JupyterLab serves the demo directory on that port, with the store, and the URL it prints
    # (its default URL plus the token) is the quickstart's.
    cmd = lab_command(stdout)
    assert cmd[:4] == [f"DSVIZ_DIR={tmp_path / 'store'}", sys.executable, "-m", "jupyterlab"]
    assert "--LabApp.default_url=/lab/tree/01_quickstart.ipynb" in cmd
    assert {f"--ServerApp.root_dir={tmp_path}", "--port=8765", "--no-browser"} <= set(cmd)
    assert not any(arg.startswith("--ip") for arg in cmd)


@pytest.mark.slow
def test_demo_reuses_a_built_store_and_keeps_the_users_notebooks(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    tmp_path = copy_of(built, tmp_path)
    edited = tmp_path / "02_detection_segmentation.ipynb"
    edited.write_text(edited.read_text().replace("Detection and segmentation", "My detection"))

    out = dsviz_demo("--ip", "0.0.0.0", "--dir", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"using the demo store in {tmp_path / 'store'}" in out.stdout
    assert "building" not in out.stdout and "[1/" not in out.stdout
    assert "02_detection_segmentation.ipynb: keeping your copy" in out.stdout
    assert "My detection" in edited.read_text()
    cmd = lab_command(out.stdout)
    assert "--ip=0.0.0.0" in cmd and "--port=8888" in cmd and "--no-browser" not in cmd


@pytest.mark.slow
def test_an_interrupted_build_is_run_again(built: tuple[Path, str], tmp_path: Path) -> None:
    tmp_path = copy_of(built, tmp_path)
    (tmp_path / ".dsviz-demo-built").unlink()  # as if the build had been stopped half-way

    out = dsviz_demo("--dir", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "building the demo store" in out.stdout
    # The quickstart runs again on the half-built store; its aliases name the new versions.
    with dv.init(project="test", dir=tmp_path / "store") as run:
        assert run.use_artifact("digits:latest").version == "v0"
        assert run.use_artifact("digits-predictions:epoch-5").version == "v11"


def test_a_failing_build_says_which_step_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("nbclient")
    import nbformat

    from dsviz_widget._cli import build_store

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Setup"),
        nbformat.v4.new_code_cell("print('one')"),
        nbformat.v4.new_code_cell("1 / 0"),
    ]
    nbformat.write(nb, str(tmp_path / "broken.ipynb"))
    before = (tmp_path / "broken.ipynb").read_bytes()

    assert build_store(tmp_path / "broken.ipynb", tmp_path, dict(os.environ)) == 1
    out, err = capsys.readouterr()
    assert (
        "[1/2] Setup | print('one')" in out
        and "        one" in out
        and "[2/2] Setup | 1 / 0" in out
    )
    assert "building the store failed" in err and "ZeroDivisionError" in err
    assert (tmp_path / "broken.ipynb").read_bytes() == before  # outputs are never written back
