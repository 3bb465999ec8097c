"""The ``dsviz`` command (also ``python -m dsviz_widget``).

``dsviz demo`` copies the demo notebooks into a working directory, runs the quickstart once
(which builds the demo store from scikit-learn's digits), and opens JupyterLab on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def notebooks_dir() -> Path:
    """The demo notebooks: shipped in the wheel, or the repository's ``notebooks/``."""
    packaged = Path(__file__).parent / "_notebooks"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"


def demo(args: argparse.Namespace) -> int:
    work = Path(args.dir).expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DSVIZ_DIR": str(work / "store")}
    src = notebooks_dir()
    for nb in sorted(src.glob("*.ipynb")):
        target = work / nb.name
        if not target.exists():
            shutil.copyfile(nb, target)
    quickstart = work / "01_quickstart.ipynb"
    if not quickstart.exists():
        print(f"dsviz demo: no quickstart notebook found in {src}", file=sys.stderr)
        return 2
    if not (work / "store" / "catalog.sqlite").exists():
        print(
            f"dsviz demo: building the demo store in {work / 'store'} (runs {quickstart.name}) ..."
        )
        code = _execute(quickstart, env)
        if code:
            return code
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={work}",
        f"--port={args.port}",
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    if args.ip:
        cmd.append(f"--ip={args.ip}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    cmd.append(str(quickstart))
    print("dsviz demo: starting JupyterLab:", " ".join(cmd))
    return subprocess.call(cmd, cwd=work, env=env)


def _execute(path: Path, env: dict[str, str]) -> int:
    script = (
        "import nbformat, nbclient, sys\n"
        "p = sys.argv[1]\n"
        "nb = nbformat.read(p, as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=900, resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "nbformat.write(nb, p)\n"
    )
    return subprocess.call([sys.executable, "-c", script, str(path), str(path.parent)], env=env)


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
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    raise SystemExit(main())
