"""The churn model: training, reasons, storage and evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from accord.analyze.scoring import churn, lifetime
from tests.analyze.scoring import cdnow

NAMES = ["recency_days", "orders", "complaints_count", "revenue", "order_channels", "noise"]


def _customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Churn depends on how long ago the last order was, on how many orders, and on
    service complaints, which recency knows nothing of."""
    rng = np.random.default_rng(seed)
    recency = rng.exponential(60.0, n)
    orders = rng.poisson(2.0, n) + 1.0
    complaints = rng.poisson(0.4, n).astype(float)
    revenue = orders * rng.lognormal(3.5, 0.6, n) - rng.binomial(1, 0.05, n) * 80.0
    channels = rng.integers(1, 4, n).astype(float)
    noise = rng.normal(0, 1, n)
    logit = -4.0 + 0.9 * np.log1p(recency) - 0.5 * np.log1p(orders) + 1.1 * complaints
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([recency, orders, complaints, revenue, channels, noise]), y


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = _customers(8000, 5)
    return x[:4000], y[:4000], x[4000:], y[4000:]


@pytest.fixture(scope="module")
def model(data: tuple[np.ndarray, ...]) -> churn.ChurnModel:
    x_train, y_train, _, _ = data
    return churn.train(x_train, y_train, NAMES)


def test_the_model_beats_recency_alone_on_held_out_customers(
    model: churn.ChurnModel, data: tuple[np.ndarray, ...]
) -> None:
    _, _, x_test, y_test = data
    report = churn.evaluate(model, x_test, y_test, baseline=x_test[:, 0])
    assert report["n"] == 4000
    assert report["positives"] == int(y_test.sum())
    assert report["auc"] > report["baseline_auc"] + 0.04
    rate = y_test.mean()
    assert report["brier"] < rate * (1 - rate) * 0.9
    bins = report["calibration"]
    assert len(bins) == 10
    assert sum(b["count"] for b in bins) == 4000
    predicted = [b["predicted"] for b in bins]
    assert predicted == sorted(predicted)
    for b in bins:
        assert abs(b["predicted"] - b["observed"]) < 0.08


def test_probabilities_are_calibrated_not_reweighted(
    model: churn.ChurnModel, data: tuple[np.ndarray, ...]
) -> None:
    x_train, y_train, _, _ = data
    assert model.predict(x_train).mean() == pytest.approx(y_train.mean(), abs=1e-3)


def test_logged_features_by_name_or_by_list(model: churn.ChurnModel) -> None:
    assert model.logged == (True, True, True, True, False, False)
    x, y = _customers(500, 6)
    chosen = churn.train(x, y, NAMES, logged=["recency_days"])
    assert chosen.logged == (True, False, False, False, False, False)
    with pytest.raises(ValueError, match="not in X"):
        churn.train(x, y, NAMES, logged=["tenure_days"])


def test_factors_name_what_pushes_the_risk_up(model: churn.ChurnModel) -> None:
    typical = np.array([[20.0, 3.0, 0.0, 100.0, 2.0, 0.0]])
    complainer = np.array([[20.0, 3.0, 4.0, 100.0, 2.0, 0.0]])
    gone = np.array([[300.0, 1.0, 0.0, 30.0, 1.0, 0.0]])
    both = np.vstack([typical, complainer, gone])
    factors = model.factors(both, top=3)
    assert factors[1][0][0] == "complaints_count"
    assert factors[1][0][1] > 1.0
    assert factors[2][0][0] == "recency_days"
    assert {name for name, _ in factors[2]} >= {"recency_days", "orders"}
    for row in factors:
        assert len(row) <= 3
        assert all(c > 0 for _, c in row)
        assert [c for _, c in row] == sorted((c for _, c in row), reverse=True)
    # Contributions add up to the log-odds.
    parts = model.contributions(both)
    assert np.allclose(parts.sum(axis=1) + model.intercept, model.log_odds(both))
    assert model.predict(complainer)[0] > model.predict(typical)[0]


def test_the_model_survives_json(model: churn.ChurnModel, data: tuple[np.ndarray, ...]) -> None:
    _, _, x_test, _ = data
    stored = json.loads(json.dumps(model.to_dict()))
    again = churn.ChurnModel.from_dict(stored)
    assert again.feature_names == model.feature_names
    assert np.array_equal(again.predict(x_test), model.predict(x_test))
    stored["coef"] = stored["coef"][:2]
    with pytest.raises(ValueError, match="inconsistent"):
        churn.ChurnModel.from_dict(stored)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    scores = rng.integers(0, 8, 500) + y * rng.integers(0, 3, 500)  # many ties
    assert churn.auc(scores, y) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert churn.auc(np.zeros(10), np.r_[np.zeros(5), np.ones(5)]) == 0.5
    assert churn.auc([1.0, 2.0], [1, 1]) is None


def test_probability_alive_is_not_a_churn_score() -> None:
    """On CDNOW, "no purchase in the 39 holdout weeks": 1 - P(alive) ranks it worse than
    chance, because P(alive) is 1 for everyone without a repeat purchase."""
    customer, weeks, value = cdnow.sample_log()
    s = lifetime.summarize_transactions(
        customer, weeks, value, calibration_end=cdnow.CALIBRATION_END
    )
    bg = lifetime.fit_bgnbd(s.frequency, s.recency, s.T)
    later = weeks > cdnow.CALIBRATION_END
    days = np.unique(np.column_stack([customer[later], np.round(weeks[later] * 7)]), axis=0)
    bought = np.isin(s.customer, days[:, 0])
    churned = (~bought).astype(int)
    alive = lifetime.probability_alive(bg, s.frequency, s.recency, s.T)
    expected = lifetime.expected_purchases(bg, 39, s.frequency, s.recency, s.T)
    assert (alive[s.frequency == 0] == 1).all()
    assert churned[s.frequency == 0].mean() > 0.85
    no_repeat = churn.auc(1 - alive, churned)
    by_expectation = churn.auc(-expected, churned)
    assert no_repeat is not None
    assert by_expectation is not None
    assert no_repeat < 0.35
    assert by_expectation > 0.75


def test_bad_input_is_refused() -> None:
    x, y = _customers(100, 1)
    with pytest.raises(ValueError, match="both"):
        churn.train(x, np.zeros(100, dtype=int), NAMES)
    with pytest.raises(ValueError, match="6 columns"):
        churn.train(x[:, :5], y, NAMES)
    with pytest.raises(ValueError, match="0 or 1"):
        churn.train(x, y * 2, NAMES)
    with pytest.raises(ValueError, match="distinct"):
        churn.train(x, y, ["a"] * 6)
    model = churn.train(x, y, NAMES)
    with pytest.raises(ValueError, match="finite"):
        model.predict(np.full((1, 6), np.nan))
