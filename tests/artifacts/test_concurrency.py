"""Concurrent writers to one artifact name each get their own version; nothing is lost.

- 8 processes x 25 logs, all started together on a store none of them has created yet:
  exactly v0..v199, every (writer, i) table found exactly once and equal to what was logged,
  each writer told the version it got, ``dv.verify()`` ok.
- Meanwhile a reader process opens ``name:latest`` in a loop: never an error, never a
  partial table, never a version older than one it saw before.
- 8 threads x 10 logs in one process: v0..v79, nothing lost.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsviz_widget as dv
from tests._store_kinds import StoreKind

NAME = "shared-predictions"
PROCESSES, LOGS_PER_PROCESS = 8, 25
THREADS, LOGS_PER_THREAD = 8, 10


def make_table(writer: int, i: int) -> Any:
    """What writer ``writer`` logs the ``i``-th time: distinct per (writer, i), easy to rebuild.

    One image is the same in every table (many writers store the same object at once), one is
    new each time.
    """
    import numpy as np

    import dsviz_widget as dv

    rng = np.random.default_rng(writer * 1000 + i)
    table = dv.Table(columns=["writer", "i", "k", "value", "image"])
    for k in range(50):
        image = None
        if k == 0:
            image = dv.Image(np.full((8, 8, 3), 200, dtype=np.uint8), caption="shared")
        elif k == 1:
            image = dv.Image(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        table.add_data(writer, i, k, f"{writer}/{i}/{k}", image)
    return table


_WRITER = """
from __future__ import annotations

import sys
from typing import Any

import dsviz_widget as dv

{make_table}

writer, logs = int(sys.argv[1]), int(sys.argv[2])
make_table(writer, 0).to_arrow()  # warm up (imports pandas) before the start line
print("ready", flush=True)
sys.stdin.readline()
dv.init(job_type="writer")  # all writers open the store (from DSVIZ_DIR) at the same moment
for i in range(logs):
    art = dv.Artifact({name!r}, type="predictions", metadata={{"writer": writer, "i": i}})
    art.add(make_table(writer, i), "table")
    dv.log_artifact(art)
    print(i, art.version_index, flush=True)
"""

_READER = """
from __future__ import annotations

import json
import os
import sys
from typing import Any

import dsviz_widget as dv

{make_table}

stop = sys.argv[1]
make_table(0, 0).to_arrow()  # warm up (imports pandas)
dv.init(job_type="reader")
print("ready", flush=True)
seen: list[int] = []
while not os.path.exists(stop):
    try:
        art = dv.use_artifact({name!r} + ":latest")
    except dv.NotFoundError:
        if seen:
            raise
        continue  # no version logged yet
    assert not seen or art.version_index >= seen[-1], f"latest went back from v{{seen[-1]}} to {{art.version_index}}"
    table = art.get("table")
    writer, i = table.get_column("writer")[0], table.get_column("i")[0]
    assert table == make_table(writer, i), f"{{art.qualified_name}} is not what writer {{writer}} logged"
    assert art.metadata == {{"writer": writer, "i": i}}
    seen.append(art.version_index)
print(json.dumps(seen))
"""


def _script(template: str) -> str:
    return textwrap.dedent(template).format(make_table=inspect.getsource(make_table), name=NAME)


def _env(store: str) -> dict[str, str]:
    root = str(Path(dv.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["DSVIZ_DIR"] = store
    return env


def _check_versions(count: int, writers: int, logs: int) -> dict[tuple[int, int], int]:
    """Every version v0..count-1 is one (writer, i) table, complete; returns (writer, i) -> v."""
    latest = dv.use_artifact(f"{NAME}:latest")
    assert latest.version_index == count - 1
    with pytest.raises(dv.NotFoundError):
        dv.use_artifact(f"{NAME}:v{count}")
    found: dict[tuple[int, int], int] = {}
    for v in range(count):
        art = dv.use_artifact(f"{NAME}:v{v}")
        table = art.get("table")
        key = (table.get_column("writer")[0], table.get_column("i")[0])
        assert key not in found, f"{key} logged as v{found[key]} and again as v{v}"
        assert art.metadata == {"writer": key[0], "i": key[1]}
        assert table == make_table(*key), f"v{v} is not what writer {key[0]} logged"
        found[key] = v
    assert set(found) == {(w, i) for w in range(writers) for i in range(logs)}
    return found


def test_make_table_is_distinct_per_writer_and_log() -> None:
    assert make_table(3, 4) == make_table(3, 4)
    assert make_table(3, 4) != make_table(4, 3)


@pytest.mark.slow
def test_processes_logging_to_one_name_each_get_a_version(
    store_location: StoreKind, tmp_path: Path
) -> None:
    env = _env(store_location.kwargs["dir"])
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _script(_WRITER), str(w), str(LOGS_PER_PROCESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(PROCESSES)
    ]
    try:
        for proc in writers:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
        stop = tmp_path / "stop-reading"
        reader = subprocess.Popen(
            [sys.executable, "-c", _script(_READER), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready", reader.communicate()[1]
        for proc in writers:  # go
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=300) for proc in writers]
        stop.touch()
        reads_out, reads_err = reader.communicate(timeout=120)
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
    for proc, (_, err) in zip(writers, outputs, strict=True):
        assert proc.returncode == 0, err
    assert reader.returncode == 0, reads_err

    told: dict[tuple[int, int], int] = {}
    for w, (out, _) in enumerate(outputs):
        lines = out.split()
        assert len(lines) == 2 * LOGS_PER_PROCESS, out
        for i, version in zip(lines[::2], lines[1::2], strict=True):
            told[(w, int(i))] = int(version)
    total = PROCESSES * LOGS_PER_PROCESS
    assert sorted(told.values()) == list(range(total)), "two writers were given one version"

    dv.init(**store_location.kwargs)
    found = _check_versions(total, PROCESSES, LOGS_PER_PROCESS)
    assert found == told  # each writer was told the version its table is stored under
    report = dv.verify()
    assert report.ok, report.problems

    seen = json.loads(reads_out)
    assert len(seen) >= 5, f"the reader only managed {len(seen)} reads: {seen}"
    assert seen == sorted(seen)
    assert len(set(seen)) >= 2, "the reader never saw the writes progress"


@pytest.mark.slow
def test_threads_logging_to_one_name_each_get_a_version(store_location: StoreKind) -> None:
    dv.init(**store_location.kwargs, job_type="threads")
    tables = {(t, i): make_table(t, i) for t in range(THREADS) for i in range(LOGS_PER_THREAD)}
    start = threading.Barrier(THREADS)
    told: dict[tuple[int, int], int] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(LOGS_PER_THREAD):
                art = dv.Artifact(NAME, type="predictions", metadata={"writer": t, "i": i})
                art.add(tables[(t, i)], "table")
                dv.log_artifact(art)
                assert art.version_index is not None
                told[(t, i)] = art.version_index
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    total = THREADS * LOGS_PER_THREAD
    assert sorted(told.values()) == list(range(total))
    assert _check_versions(total, THREADS, LOGS_PER_THREAD) == told
    report = dv.verify()
    assert report.ok, report.problems
    assert np.array_equal(
        dv.use_artifact(f"{NAME}:v0").get("table").get_column("image")[0].to_numpy(),
        np.full((8, 8, 3), 200, dtype=np.uint8),
    )
