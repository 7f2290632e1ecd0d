"""The learned answer model: how likely a candidate sentence is to hold the answer.

A logistic regression over the few features of bot.sentences, trained by
`python -m benchmarks.train_answer_model` on sentences of both development sets
(positive: the sentence contains an expected answer phrase), seeded and
cross-validated by release (README, "How a question becomes an answer").
Its coefficients, and the thresholds chosen on the training data, are the small
versioned file `answer_model.json` beside this module. Applying it is a dot
product: scikit-learn is needed to train it, not to answer.

Its probability drives three decisions:
  * which sentence answers (the most probable);
  * whether a second sentence joins (it must be nearly as probable as the best, `second_ratio`);
  * whether to abstain (the best is below `abstain_below`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sentences import FEATURES, Candidate

MODEL_FILE = Path(__file__).with_name("answer_model.json")


@dataclass(frozen=True)
class AnswerModel:
    """Standardisation, coefficients and the decision thresholds of the trained model."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    abstain_below: float      # no candidate this probable: "not in the releases"
    second_ratio: float       # a second sentence joins when at least this share of the best one's probability
    short_above: float        # a short answer leads only when the sentence is this probable
    version: str = ""

    def probabilities(self, candidates: list[Candidate]) -> np.ndarray:
        """P(holds the answer) for each candidate."""
        if not candidates:
            return np.zeros(0)
        x = np.array([c.features for c in candidates], dtype=np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"version": self.version, "features": list(self.features), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept,
                "abstain_below": self.abstain_below, "second_ratio": self.second_ratio, "short_above": self.short_above}

    @classmethod
    def from_json(cls, data: dict) -> "AnswerModel":
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"answer model was trained on features {data['features']}, the code computes {list(FEATURES)}: "
                             f"retrain with `python -m benchmarks.train_answer_model`")
        return cls(features=tuple(data["features"]), mean=np.array(data["mean"]), scale=np.array(data["scale"]),
                   coef=np.array(data["coef"]), intercept=float(data["intercept"]),
                   abstain_below=float(data["abstain_below"]), second_ratio=float(data["second_ratio"]),
                   short_above=float(data["short_above"]), version=str(data.get("version", "")))


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    """The shipped model (read once per process)."""
    return AnswerModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
