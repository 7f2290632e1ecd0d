"""The training script's decisions replay the bot's: generated feature rows, no index, no model (fast)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.train_answer_model import QuestionRows, chosen, cross_validate, fit, givable, measure
from bot.extractive import Scored, choose
from bot.sentences import FEATURES, Candidate

pytest.importorskip("sklearn")


def generated_rows(n_questions: int = 40, seed: int = 0) -> list[QuestionRows]:
    """Questions whose answering sentence has a higher `meaning` and holds the asked type; a few unanswerable."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_questions):
        answerable = q % 8 != 0
        n = 12
        x = rng.normal(0.3, 0.1, size=(n, len(FEATURES)))
        x[:, FEATURES.index("heading")] = 0.0
        x[0, FEATURES.index("heading")] = 1.0  # the title: never given
        y = np.zeros(n, dtype=int)
        if answerable:
            k = int(rng.integers(1, n))
            x[k, FEATURES.index("meaning")] += 0.4
            x[k, FEATURES.index("typed_found")] = 1.0
            y[k] = 1
        texts = [f"Sentence {i} of generated question {q}." for i in range(n)]
        candidates = [
            Candidate(hit=i // 4, start=10 * (i % 4), end=10 * (i % 4) + 9, text=t, typed=(), features=tuple(row))
            for i, (t, row) in enumerate(zip(texts, x))
        ]
        rows.append(QuestionRows("gen", f"q{q}", "factoid", f"release-{q // 2}", answerable, ("x",) if answerable else (),
                                 False, x, y, x[:, FEATURES.index("heading")] > 0, [None] * n, texts, candidates))
    return rows


def test_the_sentences_given_are_the_ones_bot_extractive_would_choose():
    row = generated_rows(1)[0]
    p = np.linspace(0.9, 0.1, len(row.candidates))
    for ratio in (1.0, 0.9, 0.5):
        order = givable(row, p)
        expected = choose([Scored(row.candidates[i], float(p[i])) for i in order], ratio)
        assert [row.candidates[i] for i in chosen(row, p, ratio)] == [s.candidate for s in expected]
    assert 0 not in givable(row, p)  # the heading


def test_thresholds_come_from_out_of_fold_predictions_and_the_model_finds_the_planted_answers():
    rows = generated_rows()
    fitted = fit(rows)
    assert set(fitted.bars) == {"abstain_below", "short_above", "second_ratio"}
    assert 0.0 <= fitted.bars["abstain_below"] < 1.0 and 0.0 < fitted.bars["second_ratio"] <= 1.0
    held_out = cross_validate(rows)
    assert held_out["best_sentence_holds"] is not None and held_out["best_sentence_holds"] > 0.8
    assert held_out["false_abstain"] is not None and held_out["false_abstain"] <= 0.15
    assert measure(rows, fit(rows, inner_folds=0))["questions"] == len(rows)


def test_the_signed_question_model_is_scikit_learns_logistic_regression_within_its_sign_bounds():
    from sklearn.linear_model import LogisticRegression

    from benchmarks.signed_logistic import SignedLogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] - x[:, 1] + 0.5 * rng.normal(size=200) > 1.0).astype(int)  # unbalanced, as answerable vs not
    free = SignedLogisticRegression([0, 0, 0]).fit(x, y)
    reference = LogisticRegression(class_weight="balanced").fit(x, y)
    assert np.allclose(free.coef_, reference.coef_, atol=1e-2)  # the same loss, two solvers
    assert np.allclose(free.predict_proba(x), reference.predict_proba(x), atol=1e-3)
    # the second input lowers P; bounded to "may only raise it", its coefficient stays at 0, the others still learn
    signed = SignedLogisticRegression([+1, +1, 0]).fit(x, y)
    assert signed.coef_[0, 1] == 0.0 and signed.coef_[0, 0] > 0
    assert free.coef_[0, 1] < 0
