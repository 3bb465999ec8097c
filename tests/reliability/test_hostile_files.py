"""Item 8 of issue 6: decompression bombs, truncated and mutated images, mutated Parquet.

Each group runs in a child process (``_hostile.py``) under a 6 GB address-space limit and a
timeout, one case after another; the test checks that the child stayed alive and finished every
case, each case within its time bound, the child's peak RSS within its bound, and that every
rejection is a typed ``dv.DsvizError``:

- ``images``: PNG / JPEG / GIF headers claiming up to 2^31-1 x 2^31-1 pixels (bytes, path and
  mask path), a 0x0 header, GIFs with 1,000 and 5,000 frames, PNG / JPEG / GIF / WebP / BMP /
  TIFF truncated at 8 lengths each, 45 images with random bytes. Giant headers must be rejected;
  anything accepted must decode fully.
- ``big``: an 81-megapixel all-zero PNG (9000x9000 RGB, 230 KB), which is under
  ``MAX_IMAGE_PIXELS`` (89,478,485) and so must be *accepted*: ingested, logged and read back
  within 60 s and 2.5 GB peak RSS; and a 90-megapixel one, which must be rejected from its header.
- ``parquet``: a logged table's Parquet file with random byte flips, footer flips, truncations,
  appended garbage, a footer length claiming 2 GB, non-JSON ``dsviz`` metadata and a column whose
  kind does not match its type, each given to ``dv.Table.from_parquet`` and read in full.
  (Damage to *stored* Parquet is caught by the digest check first: see test_corruption.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.test_save_faults import _record

REPO = Path(__file__).resolve().parents[2]
BOUNDS = {  # group: (seconds per case, peak RSS MB, timeout for the group)
    "images": (10, 1024, 300),
    "big": (60, 2560, 300),
    "parquet": (10, 1024, 300),
}
KNOWN_UNTYPED: tuple[str, ...] = ()  # none open: Table.from_parquet now raises IntegrityError


def run_group(group: str, tmp: Path) -> list[dict[str, object]]:
    env = dict(os.environ, PYTHONPATH=str(REPO), DSVIZ_PROGRESS="0")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability._hostile", group, str(tmp)],
        capture_output=True,
        text=True,
        timeout=BOUNDS[group][2],
        env=env,
        cwd=REPO,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = [r for r in lines if "started" not in r]
    started = [r["case"] for r in lines if "started" in r]
    assert proc.returncode == 0, (
        f"{group}: the child died (exit {proc.returncode}) during {started[-1] if started else '?'}:"
        f"\n{proc.stderr[-3000:]}"
    )
    assert [r["case"] for r in results] == started, "a case did not finish"
    return results


@pytest.mark.slow
@pytest.mark.parametrize("group", list(BOUNDS))
def test_hostile_files_are_rejected_or_handled_in_bounds(group: str, tmp_path: Path) -> None:
    results = run_group(group, tmp_path)
    seconds, rss_mb, _ = BOUNDS[group]
    slow = [(r["case"], r["seconds"]) for r in results if float(r["seconds"]) > seconds]  # type: ignore[arg-type]
    assert not slow, slow
    peak = max(int(r["max_rss_mb"]) for r in results)  # type: ignore[call-overload]
    assert peak < rss_mb, f"peak RSS {peak} MB"
    by_case = {str(r["case"]): r for r in results}
    if group == "images":
        for case, r in by_case.items():
            if "header" in case or "logical screen" in case:
                assert r["error"] == "ValidationError", (case, r)
    if group == "big":
        assert [r["error"] for r in results] == [None, "ValidationError"], results
    untyped = {str(r["case"]): str(r["detail"]) for r in results if r["error"] == "untyped"}
    summary = {
        "cases": len(results),
        "rejected_typed": sum(1 for r in results if r["error"] not in (None, "untyped")),
        "accepted": sum(1 for r in results if r["error"] is None),
        "untyped": len(untyped),
        "peak_rss_mb": peak,
        "slowest_case_s": max(float(r["seconds"]) for r in results),  # type: ignore[arg-type]
        "results": results,
    }
    _record(f"hostile-{group}", summary)
    print(f"\n{group}: " + json.dumps({k: v for k, v in summary.items() if k != "results"}))
    if untyped and group in KNOWN_UNTYPED:
        kinds = sorted({d.split(":")[0] for d in untyped.values()})
        pytest.xfail(
            f"known: dv.Table.from_parquet (table.py, not the store) lets {len(untyped)} "
            f"of {len(results)} damaged files raise untyped errors: {', '.join(kinds)}"
        )
    assert not untyped, untyped
