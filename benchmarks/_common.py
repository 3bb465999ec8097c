"""Shared helpers for the benchmarks: timing with repeats, peak memory, machine description."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata


def peak_rss_mb() -> float | None:
    """The process's peak resident set size so far (VmHWM), in MB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Measurement:
    """Wall-clock seconds of each repeat, and the largest peak RSS growth over the RSS at start."""

    times: list[float] = field(default_factory=list)
    peak_extra_mb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> str:
        return f"{min(self.times):.3g}-{max(self.times):.3g} s"


def measure(
    run: Callable[[], object],
    repeats: int,
    setup: Callable[[], object] | None = None,
    teardown: Callable[[], object] | None = None,
) -> Measurement:
    """Time ``run`` ``repeats`` times (``setup``/``teardown`` around each, not timed).

    Peak memory is the VmHWM growth over the RSS just before ``run`` (garbage collected first),
    so it counts what ``run`` allocates, not its inputs.
    """
    out = Measurement()
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        can_reset = reset_peak_rss()
        before = current_rss_mb()
        start = time.perf_counter()
        run()
        out.times.append(time.perf_counter() - start)
        peak = peak_rss_mb()
        if can_reset and peak is not None and before is not None:
            extra = max(0.0, peak - before)
            out.peak_extra_mb = max(out.peak_extra_mb or 0.0, extra)
        if teardown is not None:
            teardown()
    return out


def versions(packages: Sequence[str]) -> str:
    found = []
    for name in packages:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def machine(packages: Sequence[str]) -> str:
    """One line: cores, OS, Python and library versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cores} cores ({platform.machine()}, {platform.system()} {platform.release()}), "
        f"Python {sys.version.split()[0]}, {versions(packages)}"
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    )


def fmt_mb(mb: float | None) -> str:
    return "n/a" if mb is None else f"{mb:,.0f} MB"
