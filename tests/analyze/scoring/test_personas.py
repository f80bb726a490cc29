"""Personas on synthetic groups of customers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from accord.analyze.scoring import personas

LABELS = {
    "orders": ("orders", "orders"),
    "average_order": ("average order value", "money"),
    "recency_days": ("days since the last order", "days"),
    "events_recent": ("touchpoints in the last 90 days", "events"),
    "conversations": ("conversations with service", "conversations"),
    "order_channels": ("channels bought on", "channels"),
}
NAMES = list(LABELS)
# Typical values of each synthetic group, in the order of NAMES.
GROUPS: dict[str, list[float]] = {
    "big": [15, 150, 5, 20, 0.5, 2.5],
    "chatty": [1, 40, 60, 5, 9, 1],
    "lapsed": [2, 40, 300, 0.3, 0.3, 1],
    "browsers": [3, 50, 25, 70, 0.3, 1],
}
SIZES = {"big": 150, "chatty": 250, "lapsed": 400, "browsers": 200}


def _customers(seed: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, (name, centre) in enumerate(GROUPS.items()):
        n = int(SIZES[name] * scale)
        rows.append(np.array(centre) * rng.lognormal(0, 0.25, (n, len(centre))))
        truth.append(np.full(n, g))
    return np.vstack(rows), np.concatenate(truth)


@pytest.fixture(scope="module")
def found() -> personas.Personas:
    x, _ = _customers(1)
    return personas.cluster(x, NAMES, labels=LABELS)


def test_finds_the_groups(found: personas.Personas) -> None:
    _, truth = _customers(1)
    assert found.k == 4
    assert set(found.silhouettes) == {3, 4, 5, 6, 7}
    assert max(found.silhouettes, key=lambda k: found.silhouettes[k]) == 4
    assert adjusted_rand_score(truth, found.labels) > 0.95
    assert list(found.sizes) == sorted(found.sizes, reverse=True)
    assert sum(found.sizes) == truth.size
    # Counts and amounts are skewed, so they were log-transformed.
    assert found.logged[NAMES.index("orders")]
    assert found.logged[NAMES.index("conversations")]


def _group_of(found: personas.Personas, name: str) -> int:
    _, truth = _customers(1)
    g = list(GROUPS).index(name)
    return int(np.bincount(found.labels[truth == g]).argmax())


def test_names_say_what_sets_each_group_apart(found: personas.Personas) -> None:
    big = found.names[_group_of(found, "big")].lower()
    assert "frequent" in big
    assert "spend" in big
    chatty = found.names[_group_of(found, "chatty")].lower()
    assert "chat-heavy" in chatty
    assert "occasional" in chatty
    assert "lapsed" in found.names[_group_of(found, "lapsed")].lower()
    assert "engaged" in found.names[_group_of(found, "browsers")].lower()
    assert len(set(found.names)) == found.k
    for name, description in zip(found.names, found.descriptions, strict=True):
        assert name[0].isupper()
        assert description.endswith(".")
        assert "% of customers" in description
    assert (
        "conversations with service far above average"
        in found.descriptions[_group_of(found, "chatty")]
    )


def test_centres_are_in_original_units(found: personas.Personas) -> None:
    big = _group_of(found, "big")
    centre = dict(zip(NAMES, found.centres[big], strict=True))
    assert centre["orders"] == pytest.approx(15, rel=0.1)
    assert centre["average_order"] == pytest.approx(150, rel=0.1)
    lapsed = _group_of(found, "lapsed")
    assert found.centres[lapsed][NAMES.index("recency_days")] == pytest.approx(300, rel=0.1)


def test_new_rows_go_to_their_group(found: personas.Personas) -> None:
    x, truth = _customers(2, scale=0.5)
    assigned = found.assign(x)
    expected = np.array([_group_of(found, name) for name in GROUPS])[truth]
    assert (assigned == expected).mean() > 0.97
    x_train, _ = _customers(1)
    assert np.array_equal(found.assign(x_train), found.labels)


def test_deterministic_and_storable(found: personas.Personas) -> None:
    x, _ = _customers(1)
    again = personas.cluster(x, NAMES, labels=LABELS)
    assert np.array_equal(again.labels, found.labels)
    assert again.names == found.names
    stored = personas.Personas.from_dict(json.loads(json.dumps(found.to_dict())))
    assert stored.names == found.names
    assert stored.labels.size == 0
    assert np.array_equal(stored.assign(x), found.labels)


def test_a_given_k_and_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _ = _customers(3)
    three = personas.cluster(x, NAMES, k=3, labels=LABELS)
    assert three.k == 3
    assert three.silhouettes == {}
    monkeypatch.setattr(personas, "SAMPLE", 300)
    sampled = personas.cluster(x, NAMES, labels=LABELS, seed=4)
    assert sampled.k == 4
    assert sampled.labels.size == x.shape[0]


def test_without_labels_the_names_come_from_the_feature_names() -> None:
    x, _ = _customers(1)
    found = personas.cluster(x, NAMES)
    assert any("chat-heavy" in name.lower() for name in found.names)
    unknown = personas.cluster(x[:, [0, 1]] * [1, 1], ["alpha", "beta"], k=3, logged=[])
    assert not any(unknown.logged)
    assert all("alpha" in n or "beta" in n or n == "Typical customers" for n in unknown.names)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="4 rows"):
        personas.cluster(np.ones((3, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="too alike"):
        personas.cluster(np.ones((50, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="2 columns"):
        personas.cluster(np.ones((50, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="not in X"):
        personas.cluster(np.random.default_rng(0).random((50, 2)), ["a", "b"], logged=["c"])
