"""A corpus of filter expressions with the rows (``_row`` ids) or error position a user sees.

The table (conftest.make_table), row by row:

    id  score  label   n     flag   %_vegetation  n_boxes  n_boxes.car  meta.camera  meta.h
    0   0.9    cat     1     True   0.0           0        0            front        2
    1   0.1    dog     2     False  0.6           1        1            back         5
    2   NaN    cat     3     None   0.2           2        0            (meta null)
    3   None   None    None  True   None          3        2            null
    4   0.5    bird    0     False  1.0           0        0            (missing)
    5   0.75   Cat     -5    True   0.51          1        0            front        10
    6   -1.0   dög     10    False  0.5           2        1            (missing)    "x"
    7   0.5    "cat "  2     True   NaN           3        3            FRONT        (lens.mm 35)
"""

from __future__ import annotations

import pytest

from dsviz_widget.engine import Engine, FilterError, Query, Source

VALID: list[tuple[str, list[int]]] = [
    # comparisons on numbers; NaN (row 2) and null (row 3) never match
    ("score > 0.3", [0, 4, 5, 7]),
    ("score >= 0.5", [0, 4, 5, 7]),
    ("score < 0.5", [1, 6]),
    ("score <= 0.5", [1, 4, 6, 7]),
    ("score == 0.5", [4, 7]),
    ("score = 0.5", [4, 7]),
    ("score != 0.5", [0, 1, 5, 6]),
    ("score <> 0.5", [0, 1, 5, 6]),
    ("score > -2", [0, 1, 4, 5, 6, 7]),
    ("score > -1", [0, 1, 4, 5, 7]),
    ("score >= -1.0", [0, 1, 4, 5, 6, 7]),
    ("0.3 < score", [0, 4, 5, 7]),
    ("0 < score < 0.8", [1, 4, 5, 7]),
    ("0 <= score <= 0.5", [1, 4, 7]),
    ("score > 1e-1", [0, 4, 5, 7]),
    ("score > .2", [0, 4, 5, 7]),
    ("score > 1E0", []),
    ("n > 1", [1, 2, 6, 7]),
    ("n >= 2", [1, 2, 6, 7]),
    ("n == 2", [1, 7]),
    ("n != 2", [0, 2, 4, 5, 6]),
    ("n < 0", [5]),
    ("n == -5", [5]),
    ("n > 1_0", []),
    ("n >= 1_0", [6]),
    ("id == 3", [3]),
    ("id > 5", [6, 7]),
    ("id != 0", [1, 2, 3, 4, 5, 6, 7]),
    ("n > score", [0, 1, 6, 7]),
    ("n < score", [4, 5]),
    ("n == n", [0, 1, 2, 4, 5, 6, 7]),
    ("score == score", [0, 1, 4, 5, 6, 7]),
    # not: a missing value stays unknown, so negation does not bring it back
    ("not score > 0.3", [1, 6]),
    ("not (score > 0.3)", [1, 6]),
    ("!(score > 0.3)", [1, 6]),
    ("not not score > 0.3", [0, 4, 5, 7]),
    ("not n == 2", [0, 2, 4, 5, 6]),
    # and / or / precedence
    ("score > 0.3 and label == 'cat'", [0]),
    ("score > 0.3 && label == 'cat'", [0]),
    ("score > 0.3 or label == 'cat'", [0, 2, 4, 5, 7]),
    ("score > 0.3 || label == 'cat'", [0, 2, 4, 5, 7]),
    ("label == 'cat' or label == 'dog' and n > 5", [0, 2]),
    ("(label == 'cat' or label == 'dog') and n > 1", [1, 2]),
    ("id < 2 or id > 5 and id < 7", [0, 1, 6]),
    ("(id < 2 or id > 5) and id < 7", [0, 1, 6]),
    ("not id < 2 and id < 4", [2, 3]),
    ("not (id < 2 and id < 4)", [2, 3, 4, 5, 6, 7]),
    ("((((id == 1))))", [1]),
    ("id == 1 or id == 2 or id == 3", [1, 2, 3]),
    ("id >= 1 and id <= 3 and n > 1", [1, 2]),
    # strings
    ("label == 'cat'", [0, 2]),
    ('label == "cat"', [0, 2]),
    ("label == 'Cat'", [5]),
    ("label == 'cat '", [7]),
    ("label == 'dög'", [6]),
    ("label == 'd\\u00f6g'", [6]),
    ("label != 'cat'", [1, 4, 5, 6, 7]),
    ("label > 'c'", [0, 1, 2, 6, 7]),
    ("label < 'c'", [4, 5]),
    ("label contains 'at'", [0, 2, 5, 7]),
    ("label contains 'ö'", [6]),
    ("label contains ''", [0, 1, 2, 4, 5, 6, 7]),
    ("label startswith 'c'", [0, 2, 7]),
    ("label startswith 'C'", [5]),
    ("label endswith 'g'", [1, 6]),
    ("label endswith ' '", [7]),
    ("not label contains 'a'", [1, 4, 6]),
    ("label + 's' == 'cats'", [0, 2]),
    ("label == 'it\\'s'", []),
    ('label == "say \\"hi\\""', []),
    ("label == ''", []),
    ("'cat' == label", [0, 2]),
    ("label == label", [0, 1, 2, 4, 5, 6, 7]),
    ("label contains label", [0, 1, 2, 4, 5, 6, 7]),
    # in / not in
    ("label in ['cat', 'dog']", [0, 1, 2]),
    ("label in ('cat', 'dog')", [0, 1, 2]),
    ("label not in ['cat', 'dog']", [4, 5, 6, 7]),
    ("n in [1, 2, 3]", [0, 1, 2, 7]),
    ("n in [-5, 10]", [5, 6]),
    ("n not in [1, 2, 3]", [4, 5, 6]),
    ("score in [0.5, 0.9]", [0, 4, 7]),
    ("score not in [0.5]", [0, 1, 5, 6]),
    ("id in []", []),
    ("id not in []", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("n not in []", [0, 1, 2, 4, 5, 6, 7]),
    ("id in [1,]", [1]),
    ("flag in [true]", [0, 3, 5, 7]),
    ("not label in ['cat']", [1, 4, 5, 6, 7]),
    # null / NaN
    ("score is null", [2, 3]),
    ("score is not null", [0, 1, 4, 5, 6, 7]),
    ("score is None", [2, 3]),
    ("label is null", [3]),
    ("label is not null", [0, 1, 2, 4, 5, 6, 7]),
    ("n is null", [3]),
    ("flag is null", [2]),
    ("%_vegetation is null", [3, 7]),
    ("meta is null", [2]),
    ("image is null", []),
    ("image is not null", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("not score is null", [0, 1, 4, 5, 6, 7]),
    ("score is null or score > 0.8", [0, 2, 3]),
    ("(score + 1) is null", [2, 3]),
    # booleans
    ("flag", [0, 3, 5, 7]),
    ("not flag", [1, 4, 6]),
    ("flag == true", [0, 3, 5, 7]),
    ("flag == false", [1, 4, 6]),
    ("flag != true", [1, 4, 6]),
    ("flag and n > 1", [7]),
    ("flag or n > 5", [0, 3, 5, 6, 7]),
    ("true", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("false", []),
    ("not false", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("TRUE and id < 2", [0, 1]),
    ("(score > 0.3) == true", [0, 4, 5, 7]),
    # arithmetic
    ("n + 1 == 3", [1, 7]),
    ("n - 1 == 1", [1, 7]),
    ("n * 2 == 4", [1, 7]),
    ("n / 2 == 1", [1, 7]),
    ("n / 4 == 0.5", [1, 7]),
    ("n % 2 == 1", [0, 2, 5]),
    ("n%2==0", [1, 4, 6, 7]),
    ("id % 3 == 1", [1, 4, 7]),
    ("-n > 0", [5]),
    ("- n == -2", [1, 7]),
    ("+n == 2", [1, 7]),
    ("2 * n + 1 > 5", [2, 6]),
    ("2 * (n + 1) > 5", [1, 2, 6, 7]),
    ("n * n == 4", [1, 7]),
    ("score * 2 > 1", [0, 5]),
    ("score + n > 3", [6]),
    ("n / 0 > 1", [0, 1, 2, 6, 7]),
    ("n / 0 < 0", [5]),
    ("(n - n) / 0 == 0", []),
    ("n - -1 == 3", [1, 7]),
    ("1 + 1 == 2", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("n_boxes - n_boxes.car == 2", [2]),
    # derived and %-names, dotted names
    ("%_vegetation > 0.5", [1, 4, 5]),
    ("%_vegetation >= 0.5", [1, 4, 5, 6]),
    ("%_vegetation > 0.5 and label == 'dog'", [1]),
    ("not %_vegetation > 0.5", [0, 2, 6]),
    ("%_vegetation*2 > 1", [1, 4, 5]),
    ("%_vegetation%0.5 == 0", [0, 4, 6]),
    ("n_boxes > 1", [2, 3, 6, 7]),
    ("n_boxes.car > 0", [1, 3, 6, 7]),
    ("n_boxes.car >= 1 and n_boxes >= 2", [3, 6, 7]),
    ("n_boxes.car == n_boxes", [0, 1, 4, 7]),
    ("`n_boxes.car` > 1", [3, 7]),
    ("row['n_boxes.car'] > 1", [3, 7]),
    ("n_boxes.car%2 == 1", [1, 6, 7]),
    # quoted names
    ("`my col` == 'c'", [2]),
    ("`my col` in ['a', 'h']", [0, 7]),
    ('row["my col"] == "c"', [2]),
    ("row['my col'] > 'f'", [6, 7]),
    ("`score` > 0.8", [0]),
    ('row["%_vegetation"] > 0.9', [4]),
    ("`%_vegetation` > 0.9", [4]),
    # dict fields (JSON text)
    ("meta.camera == 'front'", [0, 5]),
    ("meta.camera == 'FRONT'", [7]),
    ("meta.camera != 'front'", [1, 7]),
    ("meta.camera is null", [2, 3, 4, 6]),
    ("meta.camera is not null", [0, 1, 5, 7]),
    ("meta.camera contains 'ront'", [0, 5]),
    ("meta.camera in ['back', 'FRONT']", [1, 7]),
    ("meta.h > 3", [1, 5]),
    ("meta.h == 2", [0]),
    ("meta.h * 2 == 20", [5]),
    ("meta.h == 'x'", [6]),
    ("meta.lens.mm == 35", [7]),
    ('meta["camera"] == "back"', [1]),
    ('meta["lens"]["mm"] > 30', [7]),
    ("meta.nothing is null", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("`meta`.camera == 'back'", [1]),
    # whitespace, case of keywords
    ("  score>0.3  ", [0, 4, 5, 7]),
    ("score\t>\n0.3", [0, 4, 5, 7]),
    ("score > 0.3 AND label == 'cat'", [0]),
    ("score > 0.3 And label == 'cat'", [0]),
    ("label IN ['cat']", [0, 2]),
    ("label NOT IN ['cat']", [1, 4, 5, 6, 7]),
    ("score IS NULL", [2, 3]),
    ("score Is Not Null and n > 5", [6]),
    ("NOT flag", [1, 4, 6]),
    ("label CONTAINS 'og'", [1]),
    ("label StartsWith 'b'", [4]),
    ("label ENDSWITH 't'", [0, 2, 5]),
    # the seed's own example
    ("%_vegetation > 0.5", [1, 4, 5]),
]

# (text, position of the caret, a fragment of the message)
INVALID: list[tuple[str, int, str]] = [
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("score >", 7, "expected a value after '>'"),
    ("score > ", 8, "expected a value after '>'"),
    ("> 3", 0, "expected a value"),
    ("scor > 1", 0, "did you mean 'score'"),
    ("SCORE > 1", 0, "did you mean 'score'"),
    ("labl == 'cat'", 0, "did you mean 'label'"),
    ("score > 1 and lable == 'x'", 14, "did you mean 'label'"),
    ("vegetation > 0.5", 0, "unknown column 'vegetation'"),
    ("%vegetation > 0.5", 0, "unknown column '%vegetation'"),
    ("n_boxes.truck > 1", 0, "has no keys"),
    ("`nope` > 1", 0, "unknown column 'nope'"),
    ("`my col > 1", 0, "unterminated column name"),
    ("row['nope'] > 1", 4, "unknown column 'nope'"),
    ("row[1] > 1", 4, "quoted column name"),
    ("row['my col' > 1", 13, "expected ']'"),
    ("(score > 1", 10, "expected ')'"),
    ("((score > 1)", 12, "expected ')'"),
    ("score > 1)", 9, "unmatched ')'"),
    ("()", 1, "empty parentheses"),
    ("score > > 1", 8, "expected a value"),
    ("score 1", 6, "unexpected 1"),
    ("score > 1 label == 'x'", 10, "column 'label'"),
    ("label == 'cat", 9, "unterminated string"),
    ('label == "cat', 9, "unterminated string"),
    ("label == 'cat\"", 9, "unterminated string"),
    ("score > 1 and", 13, "expected a value after 'and'"),
    ("score > 1 or", 12, "expected a value after 'or'"),
    ("not", 3, "expected a value after 'not'"),
    ("and score > 1", 0, "expected a value"),
    ("score > 1 and and n > 1", 14, "expected a value"),
    ("label in 'cat'", 9, "expected a list"),
    ("label in ['cat'", 15, "expected ',' or ']'"),
    ("label in ['cat' 'dog']", 16, "expected ',' or ']'"),
    ("label in [label]", 10, "expected a number, string"),
    ("label in [null]", 10, "use 'is null'"),
    ("n in [-'a']", 7, "'-' can only precede a number"),
    ("label in [1, 2]", 10, "cannot compare"),
    ("n in ['a']", 6, "cannot compare"),
    ("score is 3", 9, "expected 'null' after 'is'"),
    ("score is not", 12, "expected 'null'"),
    ("score == null", 9, "use 'is null'"),
    ("null == score", 0, "use 'is null'"),
    ("label > 3", 6, "cannot compare column 'label'"),
    ("3 == label", 2, "cannot compare"),
    ("score == 'high'", 6, "cannot compare column 'score'"),
    ("flag == 1", 5, "cannot compare"),
    ("flag > 'a'", 5, "cannot compare"),
    ("label contains 3", 15, "'contains' needs strings"),
    ("score contains 'a'", 0, "'contains' needs strings"),
    ("label startswith n", 17, "'startswith' needs strings"),
    ("label + 1 > 2", 0, "'+' needs numbers"),
    ("label * 2 == 'x'", 0, "'*' needs numbers"),
    ("-label == 'x'", 1, "'-' needs a number"),
    ("not score", 4, "'not' needs a condition"),
    ("score and flag", 0, "'and' joins conditions"),
    ("flag or 1", 8, "'or' joins conditions"),
    ("score", 0, "must be a condition"),
    ("score + 1", 6, "must be a condition"),
    ("'cat'", 0, "must be a condition"),
    ("label", 0, "must be a condition"),
    ("image > 1", 0, "image column"),
    ("image == 'x'", 0, "image column"),
    ("image contains 'x'", 0, "image column"),
    ("image in [1]", 0, "image column"),
    ("score > 1 ; drop table t", 10, "unexpected character ';'"),
    ("score > 1 -- comment", 13, "unknown column 'comment'"),
    ("label == 'it''s'", 13, "unexpected string 's'"),
    ("score > 1 /* x */", 13, "unknown column 'x'"),
    ("score > 1 / * 2", 12, "expected a value, got '*'"),
    ("score > 1 # x", 10, "unexpected character '#'"),
    ("score > $1", 8, "unexpected character '$'"),
    ("score > 1 @ 2", 10, "unexpected character '@'"),
    ("score > 1abc", 9, "after the number"),
    ("score > 99999999999999999999", 8, "too large"),
    ("score.x > 1", 0, "has no keys"),
    ("meta. > 1", 4, "empty key"),
    ("meta['a\"b'] == 'x'", 0, "not supported"),
    ("meta[1] == 'x'", 5, "quoted key"),
    ("label ==== 'x'", 8, "expected a value"),
    ("label === 'x'", 8, "expected a value"),
    ("score >= = 1", 9, "expected a value"),
    ("x" * 10_001, 10_000, "too long"),
    ("(" * 60 + "id == 1" + ")" * 60, 49, "nested too deeply"),
    ("not " * 60 + "flag", 196, "nested too deeply"),
    ("- " * 60 + "n == 1", 98, "nested too deeply"),
]


def rows(engine: Engine, source: Source, text: str) -> list[int]:
    view = engine.view(source, Query(filter=text))
    got = view.page(0, 100).column("_row").to_pylist()
    assert view.num_rows == len(got)
    return got


def test_corpus_is_big_enough() -> None:
    assert len(VALID) + len(INVALID) >= 200


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_filter_rows(engine: Engine, source: Source, text: str, expected: list[int]) -> None:
    assert rows(engine, source, text) == expected


@pytest.mark.parametrize(("text", "expected"), VALID[::7], ids=[t for t, _ in VALID[::7]])
def test_valid_filter_rows_parquet(
    engine: Engine, parquet_source: Source, text: str, expected: list[int]
) -> None:
    assert rows(engine, parquet_source, text) == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"), INVALID, ids=[t[:40] for t, _, _ in INVALID]
)
def test_invalid_filter_error(
    engine: Engine, source: Source, text: str, position: int, fragment: str
) -> None:
    with pytest.raises(FilterError) as info:
        engine.view(source, Query(filter=text or " ")) if text.strip() else _parse_only(
            source, text
        )
    err = info.value
    assert fragment in err.message
    assert err.position == position
    shown, caret = err.caret.split("\n")
    assert len(shown) == len(text)
    assert caret == " " * position + "^"


def _parse_only(source: Source, text: str) -> None:
    from dsviz_widget.engine import parse_filter

    parse_filter(text, source.schema.names)


@pytest.mark.parametrize(
    ("text", "position"),
    [("x > ²", 4), ("٣ > 1", 0), ("x > " + "9" * 5000, 4), ("x > 9223372036854775808", 4)],
)
def test_non_ascii_digits_and_huge_integers_are_filter_errors(text: str, position: int) -> None:
    from dsviz_widget.engine import FilterError, parse_filter

    with pytest.raises(FilterError) as info:
        parse_filter(text, ["x"])
    assert info.value.position == position
