"""Cold open of an ``s3://`` store: a fresh process with an empty cache dir (another machine:
no remembered probe), ``dv.init(dir="s3://…")`` then ``use_artifact().get()``.

    python benchmarks/cold_open.py --runs 7                       # this checkout
    python benchmarks/cold_open.py --runs 7 --before /tmp/main     # and another, alternating
    python benchmarks/cold_open.py --runs 7 --before /tmp/main --postgres
    python benchmarks/cold_open.py --runs 7 --before /tmp/main --latency 20  # a far server

A small table is logged to a ``weed mini`` the script starts on loopback (catalog: SQLite, or
with ``--postgres`` a PostgreSQL the script starts on loopback: a team's setup, whose catalog
open costs more than the probe).
Each run starts one process per checkout, in alternating order, each with a new empty
``DSVIZ_CACHE_DIR``; a process reports the time of ``import dsviz_widget``, of ``dv.init``
(the catalog and the probe of conditional writes) and of ``get``, and whether boto3 was
imported. The parent reports medians / p95 in ms and the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import dsviz_widget as dv
t1 = time.perf_counter()
dv.init(dir={url!r}, catalog={catalog!r})
t2 = time.perf_counter()
rows = len(dv.use_artifact("cold:v0").get("data"))
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "init": t2 - t1, "get": t3 - t2, "rows": rows,
                   "boto3": "boto3" in sys.modules, "file": dv.__file__}}))
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def far(endpoint: str, latency_ms: float) -> Iterator[str]:
    """``endpoint``, or with a latency the endpoint of tests/team's timing relay in front of
    it, holding every request that long (the probe's as well as the reads')."""
    if not latency_ms:
        yield endpoint
        return
    from tests.team.test_probe_parallel import timed_relay

    with timed_relay(endpoint, hold=latency_ms / 1000) as relay:
        yield relay.endpoint


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--before", type=Path, help="another checkout's root, run alternately")
    parser.add_argument("--postgres", action="store_true", help="a PostgreSQL catalog")
    parser.add_argument(
        "--latency",
        type=float,
        default=0,
        help="the readers reach S3 through a relay holding every request MS (a far server)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import dsviz_widget as dv
    from tests import _servers

    checkouts = {"this": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
    with (
        tempfile.TemporaryDirectory() as tmp,
        _servers.seaweed() as server,
        _servers.postgres() if args.postgres else contextlib.nullcontext() as postgres,
        far(server.endpoint, args.latency) as endpoint,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DSVIZ_"))}
        env.update(server.env(), AWS_ENDPOINT_URL=endpoint)
        os.environ.update(server.env())
        os.environ["DSVIZ_CACHE_DIR"] = f"{tmp}/writer"
        url = f"s3://{server.bucket}/cold"
        catalog = postgres.url if postgres else f"{tmp}/catalog.sqlite"
        with dv.init(dir=url, catalog=catalog):
            art = dv.Artifact("cold", type="dataset")
            art.add(dv.Table(columns=["i"], data=[[i] for i in range(args.rows)]), "data")
            dv.log_artifact(art)
        code = CHILD.format(url=url, catalog=catalog)
        began = load()
        for run in range(args.runs):
            order = list(checkouts) if run % 2 == 0 else list(reversed(checkouts))
            for name in order:
                cache = tempfile.mkdtemp(dir=tmp)
                child = {**env, "PYTHONPATH": str(checkouts[name]), "DSVIZ_CACHE_DIR": cache}
                out = subprocess.run(  # cwd: not a checkout (``-c`` puts it first on the path)
                    [sys.executable, "-c", code], env=child, capture_output=True, text=True, cwd=tmp
                )
                if out.returncode:
                    raise SystemExit(out.stderr)
                sample = json.loads(out.stdout.strip().splitlines()[-1])
                assert sample.pop("file").startswith(str(checkouts[name])), (name, sample)
                samples[name].append(sample)
        ended = load()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{args.runs} cold opens per checkout ({kind} catalog); load average {began} -> {ended}\n"
    )
    print("| checkout | import | dv.init (median / p95) | get | boto3 imported |")
    print("|---|---|---|---|---|")
    for name, runs in samples.items():

        def ms(field: str, runs: list[dict[str, float]] = runs) -> list[float]:
            return [1000 * r[field] for r in runs]

        print(
            f"| {name} ({checkouts[name]}) | {statistics.median(ms('import')):.0f} | "
            f"{statistics.median(ms('init')):.0f} / {p95(ms('init')):.0f} | "
            f"{statistics.median(ms('get')):.0f} | {sum(bool(r['boto3']) for r in runs)} of {len(runs)} |"
        )
    if args.before:
        this = statistics.median(1000 * r["init"] for r in samples["this"])
        before = statistics.median(1000 * r["init"] for r in samples["before"])
        print(f"\ndv.init: this ÷ before = {this / before:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
