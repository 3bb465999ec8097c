"""``dv.compare`` from Python: what changed, by the user's definition, and how values moved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as dv


def _tables(n: int = 200) -> tuple[dv.Table, dv.Table, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 10, n)
    preds = [np.where(rng.random(n) < q, truth, rng.integers(0, 10, n)) for q in (0.5, 0.8)]
    frames = []
    for p in preds:
        pred = [None if i % 37 == 0 else int(v) for i, v in enumerate(p)]
        frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(n),
                    "pred": pd.array(pred, dtype="Int64"),
                    "correct": p == truth,
                    "confidence": rng.random(n),
                }
            )
        )
    return dv.Table(dataframe=frames[0]), dv.Table(dataframe=frames[1]), frames[0], frames[1]


def test_changed_by_the_columns_the_user_names() -> None:
    t0, t1, f0, f1 = _tables()
    cmp = dv.compare(t0, t1, on="id", labels=["early", "late"])
    pred_changed = f0.pred.ne(f1.pred).fillna(f0.pred.isna() != f1.pred.isna()).astype(bool)
    assert cmp.change_counts() == {
        "pred": int(pred_changed.sum()),
        "correct": int((f0.correct != f1.correct).sum()),
        "confidence": len(f0),
    }
    assert cmp.default_change_columns() == ["pred", "correct"]
    rows = cmp.changed(columns=["pred"])
    assert sorted(rows["id"].tolist()) == f0.id[pred_changed].tolist()
    assert cmp.num_changed("pred") == len(rows)
    assert list(rows.columns[:3]) == ["id", "pred@early", "correct@early"]
    # The default leaves out the confidence, which differs on every row.
    default = cmp.changed()
    assert len(default) == int((pred_changed | (f0.correct != f1.correct)).sum()) < len(f0)
    assert len(cmp.changed("pred", limit=3)) == 3
    combined = cmp.query(filter=f"({cmp.changed_filter('pred')}) and correct@late", limit=500)
    assert len(combined) == int((pred_changed & f1.correct).sum())
    with pytest.raises(dv.ValidationError, match="nope"):
        cmp.changed(columns=["nope"])


def test_transitions_are_a_crosstab_with_missing_values() -> None:
    t0, t1, f0, f1 = _tables()
    cmp = dv.compare(t0, t1, on="id", labels=["early", "late"])
    matrix = cmp.transitions("pred")
    assert matrix.index.name == "pred@early" and matrix.columns.name == "pred@late"
    assert int(matrix.to_numpy().sum()) == len(f0)
    want = pd.crosstab(f0.pred.astype(object).fillna(-1), f1.pred.astype(object).fillna(-1))
    for b in want.index:
        for a in want.columns:
            got = matrix.loc[None if b == -1 else b, None if a == -1 else a]
            assert int(got) == int(want.loc[b, a]), (b, a)
    fixed_broke = cmp.transitions("correct")
    assert int(fixed_broke.loc[False, True]) == int((~f0.correct & f1.correct).sum())
    assert int(fixed_broke.loc[True, False]) == int((f0.correct & ~f1.correct).sum())
    three = dv.compare(t0, t1, t0, on="id", labels=["a", "b", "c"])
    assert (three.transitions("correct", "a", "c").to_numpy().diagonal().sum()) == len(f0)
