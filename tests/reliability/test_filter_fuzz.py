"""Item 5 of issue 6: generated filter expressions never escape as unhandled exceptions.

Expressions come from a grammar of the filter language (hypothesis: comparisons, arithmetic,
``and``/``or``/``not``, ``in [...]``, ``is null``, ``contains``/``startswith``, backquoted and
``row["..."]`` names, dict keys, extreme literals, unknown names) and from mutating grammar
output (deleting, inserting, duplicating, swapping and truncating, with hostile characters).
Each one goes to ``parse_filter`` and to ``Engine().view(...)`` (plus ``page`` and ``num_rows``
when it is accepted). The only allowed exceptions are ``FilterError`` (which must carry a
position inside the text) and ``QueryError``; every other exception is collected with its
expression and traceback and reported together at the end.

Then the injection corpus of ``tests/engine/test_injection.py`` (plus path-shaped strings) as
filters over a *logged* table (Parquet in a store), under a ``sys.addaudithook`` that records
every ``open``: no file outside the store and the temp directory is opened.

Default: 1,000 grammar + 1,000 mutated expressions. ``DSVIZ_LONG=1``: 60,000 + 60,000.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import KIND_KEY, META_KEY, Engine, FilterError, Query, QueryError, Source
from dsviz_widget.engine import parse_filter as parse
from dsviz_widget.engine._compile import compile_filter
from dsviz_widget.engine._relation import ArrowRelation
from tests.reliability._common import pick
from tests.reliability.test_save_faults import _record

EXAMPLES = pick(1000, 60_000)
NAN = float("nan")


def _field(name: str, typ: pa.DataType, kind: str) -> pa.Field:
    return pa.field(name, typ, metadata={KIND_KEY: kind.encode()})


def make_source() -> Source:
    cols: dict[str, tuple[pa.DataType, str, list[Any]]] = {
        "id": (pa.int64(), "int", list(range(8))),
        "score": (pa.float64(), "float", [0.9, 0.1, NAN, None, 0.5, 1e308, -1.0, -0.0]),
        "label": (pa.string(), "str", ["cat", "dog", "", None, "bird", "Cat", "dög", "c'a\"t"]),
        "n": (pa.int64(), "int", [1, 2, 3, None, 0, -(2**63), 2**63 - 1, 2]),
        "flag": (pa.bool_(), "bool", [True, False, None, True, False, True, False, True]),
        "%_vegetation": (pa.float64(), "derived", [0.0, 0.6, 0.2, None, 1.0, 0.51, 0.5, NAN]),
        "n_boxes.car": (pa.int64(), "derived", [0, 1, 0, 2, 0, 0, 1, 3]),
        "meta": (
            pa.string(),
            "dict",
            [
                '{"camera": "front", "h": 2}',
                '{"camera": "back"}',
                None,
                '{"camera": null}',
                "{}",
                '{"h": 1e400}',
                '{"h": "x"}',
                '{"lens": {"mm": 35}}',
            ],
        ),
        "my col": (pa.string(), "str", list("abcdefgh")),
    }
    fields = [_field(n, t, k) for n, (t, k, _) in cols.items()]
    meta = {"format": 1, "classes": {}, "derived": []}
    schema = pa.schema(fields, metadata={META_KEY: json.dumps(meta).encode()})
    return Source.from_arrow(
        pa.table({n: pa.array(v, t) for n, (t, _, v) in cols.items()}, schema=schema)
    )


SOURCE = make_source()
RELATION = ArrowRelation(SOURCE)
MAX_SQL_RATIO = 40  # compiled SQL characters per filter character, at most
COLUMNS = [f.name for f in SOURCE.schema]
DICTS = ["meta"]
ENGINE = Engine()

# -- the grammar ---------------------------------------------------------------------------
NUMERIC = [
    "id",
    "score",
    "n",
    "%_vegetation",
    "n_boxes.car",
    "`n_boxes.car`",
    'row["score"]',
    "meta.h",
    'meta["h"]',
    "meta.lens.mm",
]
TEXTUAL = ["label", "`my col`", 'row["my col"]', "meta.camera", 'meta["camera"]', "label"]
BOOLEAN = ["flag", "`flag`"]
UNKNOWN = ["nope", "`no col`", 'row["missing"]', "meta.__proto__", "Score", "scor", "_row"]

ints = st.one_of(
    st.integers(-10, 10),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63, -(2**63), 2**63 - 1, 10**400]),
)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "1e308",
            "1e309",
            "-1e400",
            "0.0",
            "-0.0",
            ".5",
            "5.",
            "1e-400",
            "0x10",
            "1_000",
            "nan",
            "inf",
        ]
    ),
)
strings = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def quote(s: str, q: str) -> str:
    return q + s.replace("\\", "\\\\").replace(q, "\\" + q) + q


string_lits = st.builds(quote, strings, st.sampled_from(["'", '"']))
number_lits = st.one_of(ints.map(str), floats.map(lambda f: f if isinstance(f, str) else repr(f)))
literals = st.one_of(
    number_lits, string_lits, st.sampled_from(["true", "false", "null", "True", "None", "TRUE"])
)


@st.composite
def arith(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(st.one_of(st.sampled_from(NUMERIC + UNKNOWN), number_lits))
    op = draw(st.sampled_from(["+", "-", "*", "/", "%", "**", "//"]))
    left, right = draw(arith(depth + 1)), draw(arith(depth + 1))
    form = draw(st.sampled_from(["{} {} {}", "({} {} {})", "-{1}{0}{2}"]))
    return form.format(left, op, right) if "{1}{0}" not in form else f"-({left} {op} {right})"


CMP = ["==", "!=", "<", "<=", ">", ">=", "=", "<>"]


@st.composite
def predicate(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return f"{draw(arith())} {draw(st.sampled_from(CMP))} {draw(arith())}"
    if kind == 1:
        return f"{draw(st.sampled_from(TEXTUAL + UNKNOWN))} {draw(st.sampled_from(CMP))} {draw(literals)}"
    if kind == 2:
        items = draw(st.lists(literals, max_size=5))
        neg = draw(st.sampled_from(["", "not "]))
        return f"{draw(st.sampled_from(NUMERIC + TEXTUAL))} {neg}in [{', '.join(items)}]"
    if kind == 3:
        return f"{draw(st.sampled_from(COLUMNS_REF))} is {draw(st.sampled_from(['', 'not ']))}null"
    if kind == 4:
        op = draw(st.sampled_from(["contains", "startswith", "endswith", "like"]))
        return f"{draw(st.sampled_from(TEXTUAL + NUMERIC))} {op} {draw(literals)}"
    if kind == 5:
        return draw(st.sampled_from([*BOOLEAN, "true", "false", "not flag", "flag == true"]))
    if kind == 6:
        return f"{draw(literals)} {draw(st.sampled_from(CMP))} {draw(st.sampled_from(NUMERIC + TEXTUAL))}"
    return f"{draw(literals)}"


COLUMNS_REF = NUMERIC + TEXTUAL + BOOLEAN + UNKNOWN


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda a, op, b: f"{a} {op} {b}",
            children,
            st.sampled_from(["and", "or", "AND", "&&", "||"]),
            children,
        ),
        children.map(lambda a: f"not {a}"),
        children.map(lambda a: f"({a})"),
        children.map(lambda a: f"not ({a})"),
    )


expressions = st.recursive(predicate(), combine, max_leaves=8)

HOSTILE = [
    "(",
    ")",
    "[",
    "]",
    "'",
    '"',
    "`",
    "\\",
    "\x00",
    "\u202e",
    "\ufeff",
    "🙂",
    ";",
    "--",
    "/*",
    "*/",
    "$1",
    "?",
    "%",
    "{",
    "}",
    "\n",
    "\t",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    ",",
    ".",
    "==",
    "e",
    "1e999",
    "row",
    "['",
    '"]',
    "\u0301",
    "\ud7ff",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(expressions)
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        op = draw(st.integers(0, 4))
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, n))
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + draw(st.one_of(st.sampled_from(HOSTILE), st.characters())) + text[i:]
        elif op == 2:
            text = text[:j] + text[i:j] + text[j:]
        elif op == 3 and n > 1:
            k = min(i, n - 2)
            text = text[:k] + text[k + 1] + text[k] + text[k + 2 :]
        else:
            text = text[:i]
    return text


# -- the oracle ----------------------------------------------------------------------------
class Findings:
    def __init__(self) -> None:
        self.count = 0
        self.max_sql_ratio = 0.0
        self.parsed = 0
        self.rejected = 0
        self.view_rejected = 0
        self.query_errors_without_position: dict[str, str] = {}
        self.bugs: dict[str, dict[str, str]] = {}

    def bug(self, stage: str, text: str, exc: BaseException) -> None:
        tb = traceback.extract_tb(exc.__traceback__)
        where = next(
            (
                f"{Path(f.filename).name}:{f.lineno}"
                for f in reversed(tb)
                if "dsviz_widget" in f.filename
            ),
            "?",
        )
        key = f"{stage}: {type(exc).__name__} at {where}"
        shown = text if len(text) <= 300 else f"{text[:150]}...<{len(text)} chars>...{text[-100:]}"
        self.bugs.setdefault(
            key,
            {
                "expression": shown,
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "traceback": "".join(traceback.format_exception(exc))[-3000:],
            },
        )

    def check(self, text: str) -> None:
        self.count += 1
        try:
            tree = parse(text, COLUMNS, DICTS)
        except FilterError as err:
            self.rejected += 1
            if not (isinstance(err.position, int) and 0 <= err.position <= len(text)):
                self.bug("parse position", text, err)
        except Exception as exc:
            self.bug("parse_filter", text, exc)
        else:
            self.parsed += 1
            # Compiled SQL stays linear in the filter's length (item 4 of the attack).
            try:
                sql = compile_filter(tree, text, RELATION.columns).sql
            except FilterError:
                pass
            except Exception as exc:
                self.bug("compile_filter", text, exc)
            else:
                ratio = len(sql) / max(1, len(text))
                self.max_sql_ratio = max(self.max_sql_ratio, ratio)
                if ratio > MAX_SQL_RATIO:
                    self.bug("SQL length", text, AssertionError(f"{len(sql)} SQL characters"))
        try:
            view = ENGINE.view(SOURCE, Query(filter=text))
            view.page(0, 5)
            _ = view.num_rows
        except FilterError as err:
            self.view_rejected += 1
            if not (isinstance(err.position, int) and 0 <= err.position <= len(text)):
                self.bug("view position", text, err)
        except QueryError as err:
            self.view_rejected += 1
            self.query_errors_without_position.setdefault(str(err)[:120], text)
        except Exception as exc:
            self.bug("Engine.view/page", text, exc)

    def figures(self) -> dict[str, Any]:
        return {
            "expressions": self.count,
            "parsed": self.parsed,
            "rejected_by_parser": self.rejected,
            "rejected_by_view": self.view_rejected,
            "unhandled": len(self.bugs),
            "query_errors_without_position": len(self.query_errors_without_position),
            "max_sql_ratio": round(self.max_sql_ratio, 2),
        }


FINDINGS: dict[str, Findings] = {}
#: Engine bugs already reported (dsviz_widget/engine/ is another engineer's): found again, they
#: make the test xfail with the report instead of failing; anything new fails.
KNOWN: dict[
    str, str
] = {}  # none open: the tokenizer's non-ASCII digit and huge-integer bugs are fixed


def _verdict(findings: Findings) -> None:
    new = {k: v for k, v in findings.bugs.items() if not any(known in k for known in KNOWN)}
    assert not new, json.dumps(new, indent=1)[:6000]
    # Runtime failures of accepted filters (overflow, modulo by zero) give missing values now;
    # any error that still reaches the user must point at a position.
    assert not findings.query_errors_without_position, findings.query_errors_without_position
    if findings.bugs:
        pytest.xfail(
            "known engine bug(s): "
            + "; ".join(f"{k} (e.g. {v['expression']!r})" for k, v in findings.bugs.items())[:2000]
        )


SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _run(name: str, strategy: st.SearchStrategy[str]) -> None:
    findings = FINDINGS[name] = Findings()
    started = time.perf_counter()

    @SETTINGS
    @given(strategy)
    def fuzz(text: str) -> None:
        findings.check(text)

    fuzz()
    figures = {**findings.figures(), "seconds": round(time.perf_counter() - started, 1)}
    _record(
        f"filter-{name}",
        {
            **figures,
            "bugs": findings.bugs,
            "query_error_samples": findings.query_errors_without_position,
        },
    )
    print(f"\n{name}: {figures}")
    _verdict(findings)


@pytest.mark.slow
def test_grammar_expressions() -> None:
    _run("grammar", expressions)


@pytest.mark.slow
def test_mutated_expressions() -> None:
    _run("mutated", mutated())


def test_known_tricky_expressions() -> None:
    findings = Findings()
    for text in [
        "",
        " ",
        "()",
        "(((((((((((((((((((((((((((((x",
        "not " * 5000 + "flag",
        "(" * 3000 + "flag" + ")" * 3000,
        "-" * 5000 + "1 > 0",
        "score > " + "9" * 5000,
        "label == '" + "a" * 1_000_000 + "'",
        "id in [" + ", ".join(["1"] * 20000) + "]",
        "n * 9223372036854775807 > 0",
        "n + 1 > 0",
        "n - 1 < 0",
        "-n > 0",
        "n / 0 > 1",
        "n % 0 == 1",
        "id / 0 == 1",
        "score / 0 > 1",
        "meta.h > 1",
        "meta.h == 'x'",
        "meta.lens > 1",
        "label > 1",
        "label + 1 == 2",
        "flag > 1",
        "flag + 1 == 2",
        "id == 1e400",
        "score == -1e400",
        "1 == 1",
        "'a' == 'a'",
        "null == null",
        "label contains ''",
        "label startswith '%'",
        "label contains '_'",
        "label == '\\x00'",
        "label == '\x00'",
        "`` == 1",
        "row[''] == 1",
        "row[1] == 1",
        "meta[0] == 1",
        "meta.camera.x == 1",
        "id in []",
        "id in [null]",
        "label in ['a', 1, true, null]",
        "id is null is null",
        "not not not flag",
        "%_vegetation",
        "%_vegetation > 0.5 and `my col` == 'a'",
        "n_boxes.car >= 1",
    ]:
        findings.check(text)
    _verdict(findings)


# -- the injection corpus under an audit hook ------------------------------------------------
_WATCH: list[Callable[[str, tuple[Any, ...]], None]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    for watcher in _WATCH:
        watcher(event, args)


sys.addaudithook(_audit)  # hooks cannot be removed; _WATCH is emptied after each use


def test_injection_corpus_opens_nothing_outside_the_store(store_dir: Path, tmp_path: Path) -> None:
    import dsviz_widget as dv
    from tests.engine.test_injection import SECRET, corpus

    (tmp_path / "canary.txt").write_text(SECRET)
    texts = [
        *corpus(tmp_path),
        "../../etc/passwd",
        "/etc/passwd",
        "label == '/etc/passwd'",
        "`/etc/passwd` == 1",
        "row['../../etc/shadow'] == 1",
        "meta['/etc/hosts'] == 1",
        "label == 'file:///etc/passwd'",
        "label contains '\\\\server\\share'",
    ]
    table = dv.Table(
        columns=["label", "score", "meta"],
        data=[[t, float(i), {"k": t}] for i, t in enumerate(texts)],
    )
    art = dv.Artifact("injected", type="t")
    art.add(table, "t")
    dv.log_artifact(art)
    logged = dv.use_artifact("injected:latest").get("t")
    allowed = (
        str(store_dir.resolve()),
        str(Path(tempfile.gettempdir()).resolve()),
        "/dev/null",
        "/proc/self",
    )
    outside: list[str] = []

    def watch(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | bytes | Path):
            path = str(
                Path(str(args[0], "utf-8") if isinstance(args[0], bytes) else args[0]).resolve()
            )
            if not path.startswith(allowed):
                outside.append(path)

    rejected = matched = 0
    _WATCH.append(watch)
    try:
        for text in texts:
            for run in (
                lambda t=text: logged.query(filter=t, limit=5),
                lambda t=text: logged.query(filter=f"label == {json.dumps(t)}", limit=5),
            ):
                try:
                    run()
                    matched += 1
                except QueryError:
                    rejected += 1
    finally:
        _WATCH.clear()
    assert outside == [], outside
    _record(
        "filter-injection",
        {
            "expressions": 2 * len(texts),
            "rejected": rejected,
            "ran": matched,
            "opens_outside_store_or_tmp": len(outside),
        },
    )
    assert not math.isnan(rejected)
