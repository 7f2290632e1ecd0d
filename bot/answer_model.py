"""The learned answer model: how likely a candidate sentence is to hold the answer.

Two small logistic regressions, trained by
`python -m benchmarks.train_answer_model` on both development sets, seeded and
cross-validated by release (README, "How a question becomes an answer"):
  * the sentence model, over the features of bot.sentences (positive: the sentence
    contains an expected answer phrase): P(this sentence holds the answer);
  * the question model, over what the best sentence looks like (its probability, the
    runner-up's, whether it holds the asked type, its release's coverage of the question,
    a date conflict, names the index lacks): P(the releases answer this question at all).
    A near miss — an on-topic sentence without the budget, the year or the partner asked
    about — scores high on the first and low on the second.
Its coefficients, and the thresholds chosen on the training data (from out-of-fold
predictions), are the small versioned file `answer_model.json` beside this module.
Applying it is a dot product: scikit-learn is needed to train it, not to answer.

Its probability drives three decisions:
  * which sentence answers (the most probable);
  * whether a second sentence joins (it must be nearly as probable as the best, `second_ratio`);
  * whether to abstain (the question model is below `abstain_below`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sentences import FEATURES, Candidate

MODEL_FILE = Path(__file__).with_name("answer_model.json")
# what the question model reads of the best candidate, besides its and the runner-up's probability
QUESTION_FEATURES = ("coverage", "typed_missing", "definition", "date_conflict", "missing", "rare_overlap", "meaning")


@dataclass(frozen=True)
class AnswerModel:
    """Standardisation, coefficients and the decision thresholds of the trained model."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    question_mean: np.ndarray
    question_scale: np.ndarray
    question_coef: np.ndarray
    question_intercept: float
    abstain_below: float  # P(answerable) below this: "not in the releases"
    second_ratio: float  # a second sentence joins when at least this share of the best one's probability
    short_above: float  # a short answer leads only when the sentence is this probable
    version: str = ""

    def probabilities(self, candidates: list[Candidate]) -> np.ndarray:
        """P(holds the answer) for each candidate."""
        if not candidates:
            return np.zeros(0)
        x = np.array([c.features for c in candidates], dtype=np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def answerable(self, best: Candidate | None, best_probability: float, runner_up: float) -> float:
        """P(the releases answer the question), from the best candidate that may be given."""
        if best is None:
            return 0.0
        x = question_features(best, best_probability, runner_up)
        z = ((x - self.question_mean) / self.question_scale) @ self.question_coef + self.question_intercept
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "question_features": ["best_probability", "runner_up", *QUESTION_FEATURES],
            "question_mean": self.question_mean.tolist(),
            "question_scale": self.question_scale.tolist(),
            "question_coef": self.question_coef.tolist(),
            "question_intercept": self.question_intercept,
            "abstain_below": self.abstain_below,
            "second_ratio": self.second_ratio,
            "short_above": self.short_above,
        }

    @classmethod
    def from_json(cls, data: dict) -> AnswerModel:
        if tuple(data["features"]) != FEATURES:
            raise ValueError(
                f"answer model was trained on features {data['features']}, the code computes {list(FEATURES)}: "
                f"retrain with `python -m benchmarks.train_answer_model`"
            )
        return cls(
            features=tuple(data["features"]),
            mean=np.array(data["mean"]),
            scale=np.array(data["scale"]),
            coef=np.array(data["coef"]),
            intercept=float(data["intercept"]),
            question_mean=np.array(data["question_mean"]),
            question_scale=np.array(data["question_scale"]),
            question_coef=np.array(data["question_coef"]),
            question_intercept=float(data["question_intercept"]),
            abstain_below=float(data["abstain_below"]),
            second_ratio=float(data["second_ratio"]),
            short_above=float(data["short_above"]),
            version=str(data.get("version", "")),
        )


def question_features(best: Candidate, best_probability: float, runner_up: float) -> np.ndarray:
    """The question model's inputs (training and answering compute them here, the same way)."""
    return np.array(
        [best_probability, runner_up, *(best.feature(name) for name in QUESTION_FEATURES)], dtype=np.float64
    )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    """The shipped model (read once per process)."""
    return AnswerModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
