"""A logistic regression whose coefficients keep the sign a feature can only have.

The question model (is this answerable at all?) learns from 14 unanswerable questions. With so
few, plain logistic regression gave some features the sign no reading of them allows (sharing
the question's rare words lowering P(answerable)), and each training subset a different such
sign: its abstentions did not carry from one set to the other. Bounding each coefficient to its
sign (+1: may only raise P, -1: may only lower it, 0: free) is prior knowledge, not a parameter.

Hand-rolled because scikit-learn's LogisticRegression takes no coefficient bounds; scipy's
L-BFGS-B does, and the loss is scikit-learn's: class-balanced log loss plus an L2 penalty of
1 / (2 C) on the coefficients (not the intercept).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize


class SignedLogisticRegression:
    """Binary logistic regression, class-balanced, with per-coefficient sign bounds (scikit-learn's interface)."""

    def __init__(self, signs: Sequence[int], C: float = 1.0) -> None:
        self.signs = tuple(signs)
        self.C = C
        self.coef_ = np.zeros((1, len(self.signs)))
        self.intercept_ = np.zeros(1)

    def fit(self, x: np.ndarray, y: np.ndarray) -> SignedLogisticRegression:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        n, d = x.shape
        if d != len(self.signs):
            raise ValueError(f"{d} features, {len(self.signs)} signs")
        positives = y.sum()
        weight = np.where(y == 1, n / (2 * positives), n / (2 * (n - positives)))  # scikit-learn's "balanced"

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:d], theta[d]
            z = x @ w + b
            residual = weight * (1.0 / (1.0 + np.exp(-z)) - y)
            value = float(np.sum(weight * (np.logaddexp(0.0, z) - y * z)) + w @ w / (2 * self.C))
            return value, np.append(x.T @ residual + w / self.C, residual.sum())

        bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in self.signs]
        result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)])
        self.coef_, self.intercept_ = result.x[None, :d], result.x[d:]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) @ self.coef_[0] + self.intercept_[0])))
        return np.column_stack([1.0 - p, p])
