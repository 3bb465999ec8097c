"""Hostile text as a whole filter, as a string literal and as a column name.

Each is either a clear error or a literal match; no statement ever reaches the file
system: a canary file is never read into results, COPY targets are never created, and
Python opens no file while queries run (audit hook).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from dsviz_widget.engine import Engine, FilterError, Query, QueryError, Source
from dsviz_widget.engine._relation import relation_for
from dsviz_widget.engine._view import format_literal

SECRET = "TOP-SECRET-CANARY-4711"


def corpus(tmp: Path) -> list[str]:
    canary = tmp / "canary.txt"
    out = tmp / "pwned.csv"
    return [
        "1; DROP TABLE t",
        "'; DROP TABLE t; --",
        '"; DROP TABLE t; --',
        f";COPY (SELECT 1) TO '{out}'",
        f"x' ; COPY (SELECT 42) TO '{out}' ; --",
        f"COPY t TO '{out}' (FORMAT CSV)",
        "read_text('/etc/passwd')",
        f"read_text('{canary}')",
        f"(SELECT content FROM read_text('{canary}'))",
        f"label == (SELECT * FROM read_csv('{canary}'))",
        "' OR '1'='1",
        '" OR "1"="1',
        "1 OR 1=1",
        "score > 0 UNION SELECT * FROM duckdb_settings()",
        "/* comment */ 1",
        "score -- comment",
        "#",
        "' --",
        "`",
        "``",
        "'",
        '"',
        "\\",
        "\\'",
        "\0",
        "$1",
        "?",
        "INSTALL httpfs; LOAD httpfs",
        "ATTACH '/tmp/x.db' AS x",
        "SET enable_external_access = true",
        "PRAGMA version",
        "__import__('os').system('touch /tmp/pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "__builtins__",
        "eval('1')",
        "lambda: 0",
        "${jndi:ldap://x}",
        "{{7*7}}",
        "%s%s%s%n",
        "'; SELECT getenv('HOME'); --",
        "glob('/*')",
        "\u202e' OR 1=1",
    ]


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    (tmp_path / "canary.txt").write_text(SECRET)
    return tmp_path


def _assert_clean(sandbox: Path, table: pa.Table | None = None) -> None:
    assert not (sandbox / "pwned.csv").exists()
    assert not Path("/tmp/pwned").exists()
    if table is not None:
        assert SECRET not in str(table.to_pydict())


@pytest.fixture
def no_python_opens():
    opened: list[str] = []

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and watching:
            opened.append(str(args[0]))

    watching = False
    sys.addaudithook(hook)  # hooks cannot be removed; the flag switches this one off

    class Ctl:
        def __enter__(self) -> list[str]:
            nonlocal watching
            watching = True
            return opened

        def __exit__(self, *exc: object) -> None:
            nonlocal watching
            watching = False

    return Ctl()


def test_whole_expression_is_an_error(sandbox: Path, no_python_opens) -> None:
    eng = Engine()
    src = Source.from_arrow(pa.table({"label": ["a", "b"], "score": [0.1, 0.2]}))
    with no_python_opens as opened:
        for text in corpus(sandbox):
            try:
                view = eng.view(src, Query(filter=text))
            except FilterError as err:
                assert 0 <= err.position <= len(text)
                assert err.caret.splitlines()[-1].endswith("^")
                continue
            # Anything that parses must be an ordinary expression over real columns.
            page = view.page(0, 10)
            _assert_clean(sandbox, page)
    assert [p for p in opened if "canary" in p or "passwd" in p] == []
    _assert_clean(sandbox)


def test_as_string_literal_matches_literally(sandbox: Path, no_python_opens) -> None:
    texts = corpus(sandbox)
    eng = Engine()
    src = Source.from_arrow(pa.table({"label": [*texts, "plain"]}))
    with no_python_opens:
        for i, text in enumerate(texts):
            view = eng.view(src, Query(filter=f"label == {format_literal(text)}"))
            page = view.page(0, 10)
            assert page.column("_row").to_pylist() == [i], text
            assert page.column("label").to_pylist() == [text]
            contains = eng.view(src, Query(filter=f"label contains {format_literal(text)}"))
            assert i in contains.page(0, 100).column("_row").to_pylist()
    _assert_clean(sandbox)


@pytest.mark.slow
def test_as_column_name(sandbox: Path) -> None:
    texts = [t for t in corpus(sandbox) if "\0" not in t]
    eng = Engine()
    src = Source.from_arrow(pa.table({t: [i, i + 1] for i, t in enumerate(texts)}))
    for i, name in enumerate(texts):
        quoted = "`" + name.replace("`", "``") + "`"
        for text in (f"{quoted} == {i}", f"row[{format_literal(name)}] == {i + 1}"):
            page = eng.view(src, Query(filter=text, sort=["-" + name], columns=[name])).page(0, 5)
            assert page.column(name).to_pylist() == [i if "`" in text[:1] else i + 1]
        grouped = eng.view(src, Query(group_by=[name])).page(0, 5)
        assert grouped.column(name).to_pylist() == [i, i + 1]
        assert eng.view(src, Query()).summary(name)["max"] == i + 1
    _assert_clean(sandbox)


def test_unknown_hostile_column_names_are_errors(sandbox: Path) -> None:
    eng = Engine()
    src = Source.from_arrow(pa.table({"x": [1]}))
    for name in corpus(sandbox):
        with pytest.raises(QueryError):
            eng.view(src, Query(sort=[name]))
        with pytest.raises(QueryError):
            eng.view(src, Query(columns=[name]))
        with pytest.raises(QueryError):
            eng.view(src, Query(group_by=[name]))


def test_connection_cannot_reach_files_or_change_settings(sandbox: Path) -> None:
    eng = Engine()
    rel = relation_for(Source.from_arrow(pa.table({"x": [1]})))
    with eng.connection(rel) as con:
        _refuses_everything(con, sandbox)
    _assert_clean(sandbox)
    assert not (sandbox / "x.db").exists()


def _refuses_everything(con: duckdb.DuckDBPyConnection, sandbox: Path) -> None:
    for sql in [
        f"SELECT * FROM read_text('{sandbox / 'canary.txt'}')",
        "SELECT * FROM read_text('/etc/passwd')",
        f"COPY (SELECT 1) TO '{sandbox / 'pwned.csv'}'",
        f"ATTACH '{sandbox / 'x.db'}' AS x",
        "SET enable_external_access = true",
        "SET allowed_paths = ['/etc/passwd']",
        "RESET lock_configuration",
        "LOAD httpfs",
    ]:
        with pytest.raises(duckdb.Error):
            con.execute(sql).fetchall()


def _all_refused(con: duckdb.DuckDBPyConnection, *statements: str) -> None:
    for sql in statements:
        with pytest.raises(duckdb.Error):
            con.execute(sql).fetchall()


def test_a_viewed_parquet_file_opens_only_itself(sandbox: Path) -> None:
    """Viewing a Parquet file widens the engine's connection (a ready-made spare, set up
    and locked when taken) to that file alone: not its neighbours, not a pattern over its
    folder or over the engine's links, and still nothing else."""
    import pyarrow.parquet as pq

    from dsviz_widget.engine import _connection

    seen, other, hidden = (sandbox / n for n in ("seen.parquet", "other.parquet", "hidden.parquet"))
    pq.write_table(pa.table({"x": [1, 2]}), seen)
    pq.write_table(pa.table({"x": [3]}), other)
    pq.write_table(pa.table({"x": [SECRET]}), hidden)
    # Another engine of the process views the hidden file: its link sits next to ours.
    Engine().view(Source.from_parquet([str(hidden)]), Query()).page(0, 1)
    eng = Engine()
    for path in (seen, other):  # the second is opened on a spare connection
        _connection.wait_for_spare(30)
        taken = _connection.spares_taken()
        src = Source.from_parquet([str(path)])
        assert eng.view(src, Query()).page(0, 5).column("x").to_pylist() == (
            [1, 2] if path == seen else [3]
        )
        if path == other:
            assert _connection.spares_taken() == taken + 1
        rel = relation_for(src)
        with eng.connection(rel) as con:
            (link,) = rel.allowed_paths
            assert con.execute(f"SELECT count(*) FROM read_parquet('{link}')").fetchall()[0][0]
            _all_refused(
                con,
                f"SELECT * FROM read_parquet('{hidden}')",
                f"SELECT * FROM read_parquet('{sandbox}/*.parquet')",
                f"SELECT * FROM read_parquet('{os.path.dirname(link)}/*.parquet')",
                f"SELECT * FROM glob('{sandbox}/*')",
            )
            _refuses_everything(con, sandbox)
    _assert_clean(sandbox)


def _lit(path: object) -> str:
    """A SQL string literal of ``path`` (the test's own text, quotes doubled)."""
    return "'" + str(path).replace("'", "''") + "'"


@pytest.mark.parametrize(
    "store_name",
    [
        "store",
        "my store",
        "it's",
        "[a]*?{b}",
        "ünï €",
        "--; DROP",
        "x\\y",
        "a\nb\tc",
        "~%20",
        "..x",
        "C:",
    ],
)
def test_a_stores_tables_share_one_database_and_open_only_its_directory(
    sandbox: Path, store_name: str
) -> None:
    """Tables of a store (``Source.root``: the store's object directory) are read through
    one DuckDB database that may read that directory: a second table opens no new one. What
    lies beside the directory (the store's catalog, a canary), a path climbing out of it and
    a link inside it to a file outside stay unreadable."""
    import pyarrow.parquet as pq

    from dsviz_widget.engine._relation import ParquetRelation, duckdb_path

    objects = sandbox / store_name / "objects"
    (objects / "ab").mkdir(parents=True)
    (objects / "cd").mkdir()
    first, second = objects / "ab" / "ab01", objects / "cd" / "cd02"
    pq.write_table(pa.table({"x": [1, 2]}), first)
    pq.write_table(pa.table({"x": [3]}), second)
    (sandbox / store_name / "catalog.sqlite").write_text(SECRET)
    outside = sandbox / "outside.parquet"
    pq.write_table(pa.table({"x": [SECRET]}), outside)
    (objects / "ab" / "escape").symlink_to(outside)

    # DuckDB reads a backslash in an allowed directory as a separator: such a store's files
    # open one by one, by their links, as a user's own files do.
    shared = "\\" not in store_name
    eng = Engine()
    pages, databases = [], []
    for path in (first, second):
        src = Source.from_parquet([str(path)], root=str(objects))
        rel = relation_for(src)
        want = (os.path.realpath(objects) + os.sep,) if shared else rel.links
        assert rel.allowed_paths == want
        pages.append(eng.view(src, Query()).page(0, 5).column("x").to_pylist())
        databases.append(eng._con)
    assert pages == [[1, 2], [3]]
    # The first table opened the engine's database; the second needed none.
    assert databases[0] is not None and (databases[1] is databases[0]) == shared
    # A file outside the root, even given the root, opens only itself.
    alone = Source.from_parquet([str(outside)], root=str(objects))
    assert relation_for(alone).allowed_paths == (duckdb_path(str(outside), alone.files[0]),)

    rel = relation_for(Source.from_parquet([str(second)], root=str(objects)))
    with eng.connection(rel) as con:
        # The first table's link (its path holds no quote or glob character), on the
        # database the second uses: granted by the directory (or by the link, kept in the
        # union of what the engine's database may read).
        (link,) = ParquetRelation(Source.from_parquet([str(first)])).links
        assert con.execute(f"SELECT count(*) FROM read_parquet('{link}')").fetchall() == [(2,)]
        _all_refused(
            con,
            f"SELECT * FROM read_text({_lit(sandbox / store_name / 'catalog.sqlite')})",
            f"SELECT * FROM read_parquet({_lit(f'{objects}/../../outside.parquet')})",
            f"SELECT * FROM read_parquet({_lit(objects / 'ab' / 'escape')})",
            f"SELECT * FROM read_parquet({_lit(outside)})",
            f"SELECT * FROM read_parquet('{sandbox}/*.parquet')",
            f"SELECT * FROM glob('{sandbox}/*')",
        )
        _refuses_everything(con, sandbox)
    _assert_clean(sandbox)
