"""The ``dsviz`` command (also ``python -m dsviz_widget``).

``dsviz demo`` copies the demo notebooks into a working directory, builds the demo store by
running the quickstart once in a kernel of its own, and opens JupyterLab on the quickstart.

The build's outputs are thrown away, never saved into the notebook the user opens: a saved
widget output is only its text repr (``<DatasetWidget object at 0x...>``) once the kernel that
made it is gone, and the grid pulls its rows from a live kernel anyway. So the quickstart opens
clean and Run All shows the widgets; the notebooks find versions by alias, so running them
again on the built store gives the same results.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

QUICKSTART = "01_quickstart.ipynb"
# Written next to the notebooks once a build has finished: a build stopped half-way leaves a
# catalog behind, and the next `dsviz demo` must run it again rather than trust it.
BUILT_MARKER = ".dsviz-demo-built"


def notebooks_dir() -> Path:
    """The demo notebooks: shipped in the wheel, or the repository's ``notebooks/``."""
    packaged = Path(__file__).parent / "_notebooks"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"


def say(message: str) -> None:
    print(f"dsviz demo: {message}", flush=True)


def demo(args: argparse.Namespace) -> int:
    work = Path(args.dir).expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    store = work / "store"
    env = {**os.environ, "DSVIZ_DIR": str(store)}
    src = notebooks_dir()
    if not (src / QUICKSTART).is_file():
        print(f"dsviz demo: no {QUICKSTART} found in {src}", file=sys.stderr)
        return 2
    say(f"copying the demo notebooks to {work}")
    for nb in sorted(src.glob("*.ipynb")):
        target = work / nb.name
        if target.exists():
            say(f"  {nb.name}: keeping your copy (delete it for a fresh one)")
        else:
            shutil.copyfile(nb, target)
    marker = work / BUILT_MARKER
    if (store / "catalog.sqlite").is_file() and marker.is_file():
        say(f"using the demo store in {store} (delete it to build it again)")
    else:
        say(f"building the demo store in {store}: running {QUICKSTART} (about a minute)")
        started = time.monotonic()
        code = build_store(src / QUICKSTART, work, {**env, "DSVIZ_PROGRESS": "0"})
        if code:
            return code
        marker.write_text("the demo store was built by `dsviz demo`\n")
        say(f"built the demo store in {time.monotonic() - started:.0f} s")
    cmd = lab_command(work, args)
    say(f"JupyterLab command: {shlex.join(['DSVIZ_DIR=' + str(store), *cmd])}")
    if args.no_launch:
        return 0
    say(
        f"starting JupyterLab on {QUICKSTART}: open the URL it prints below (unless a browser"
        " opens it), then Run > Run All Cells to see the widgets"
    )
    return subprocess.call(cmd, cwd=work, env=env)


def lab_command(work: Path, args: argparse.Namespace) -> list[str]:
    """The JupyterLab command line: its printed URL and its `/` open the quickstart."""
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={work}",
        f"--port={args.port}",
        # The URL JupyterLab prints (and opens) is its default_url plus the token, so this
        # lands on the notebook rather than the launcher, with the port it really bound.
        f"--LabApp.default_url=/lab/tree/{QUICKSTART}",
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    if args.ip:
        cmd.append(f"--ip={args.ip}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    return cmd


def build_store(notebook: Path, work: Path, env: dict[str, str]) -> int:
    """Run ``notebook`` cell by cell in a new kernel (cwd ``work``), saying what each step is.

    The notebook is read into memory and its outputs are dropped: the file is never written.
    """
    try:
        import nbclient
        import nbformat
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    except ImportError as exc:
        print(
            f"dsviz demo: {exc.name} is missing; install the demo extras:"
            ' pip install "dsviz_widget[demo]"',
            file=sys.stderr,
        )
        return 2
    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    steps = _steps(nb.cells)
    client = nbclient.NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(work)}})
    try:
        with client.setup_kernel(env=env):
            for n, (index, title) in enumerate(steps, 1):
                say(f"  [{n}/{len(steps)}] {title}")
                cell = nb.cells[index]
                client.execute_cell(cell, index)
                for line in _printed(cell.outputs):
                    say(f"        {line}")
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        print(f"dsviz demo: building the store failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


def _steps(cells: list[Any]) -> list[tuple[int, str]]:
    """Each code cell's index and a title: the heading it is under, and its first line."""
    steps: list[tuple[int, str]] = []
    heading = ""
    for i, cell in enumerate(cells):
        lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
        if cell.cell_type == "markdown" and lines and lines[0].startswith("#"):
            heading = lines[0].lstrip("#").strip()
        elif cell.cell_type == "code" and lines:
            title = f"{heading} | {lines[0]}" if heading else lines[0]
            steps.append((i, title if len(title) <= 90 else title[:89] + "…"))
    return steps


def _printed(outputs: list[Any]) -> list[str]:
    """What a cell printed (its stream outputs), line by line."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    return [line for line in text.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dsviz", description="dsviz_widget command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="build the demo store and open JupyterLab on the quickstart")
    p.add_argument("--dir", default="~/dsviz-demo", help="working directory (default ~/dsviz-demo)")
    p.add_argument("--port", type=int, default=8888, help="JupyterLab port (default 8888)")
    p.add_argument(
        "--ip", default=None, help="address to listen on (e.g. 0.0.0.0 on a remote machine)"
    )
    p.add_argument(
        "--no-browser", action="store_true", help="do not open a browser (remote machines)"
    )
    p.add_argument(
        "--no-launch",
        action="store_true",
        help="build the store and print the JupyterLab command without starting it",
    )
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    raise SystemExit(main())
