"""The engine's locked-down DuckDB connection.

External access is switched off, so SQL cannot reach the file system or the network
(``read_text('/etc/passwd')``, ``COPY ... TO``, ``ATTACH`` all fail); the only files
DuckDB may open are the Parquet files of the sources being viewed (``allowed_paths``, set
before access is switched off, since DuckDB refuses to change it afterwards). Extension
loading and installation are off and the configuration is locked, so no statement can
undo any of this.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb


def open_connection(
    allowed_paths: Iterable[str] = (),
    *,
    memory_limit: str = "256MB",
    threads: int = 2,
    temp_directory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection that can read only ``allowed_paths``.

    ``temp_directory`` is where sorts bigger than ``memory_limit`` spill (DuckDB's default
    would be ``.tmp`` in the current directory); the engine passes its private temp dir.
    """
    config: dict[str, str | int | float | list[str]] = {}
    if temp_directory is not None:
        config["temp_directory"] = temp_directory
    con = duckdb.connect(
        ":memory:",
        config={
            **config,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "allow_community_extensions": False,
            "allow_unsigned_extensions": False,
            "threads": threads,
            "memory_limit": memory_limit,
            # Row order of scans must be the source's order: it defines ``_row``.
            "preserve_insertion_order": True,
            # Give memory back after each task instead of keeping up to 128 MB cached:
            # the kernel's footprint matters more than a few microseconds per query.
            "allocator_flush_threshold": "16MB",
            "allocator_bulk_deallocation_flush_threshold": "16MB",
        },
    )
    paths = sorted(set(allowed_paths))
    if paths:
        con.execute("SET allowed_paths = $1", [paths])
    # DuckDB's statistics propagation trusts Parquet min/max, which pyarrow writes
    # without NaN; it then folds isnan() to false and lets NaN rows through filters.
    con.execute("SET disabled_optimizers = 'statistics_propagation'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con
