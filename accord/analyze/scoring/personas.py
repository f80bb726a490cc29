"""Personas: groups of similar customers found by k-means, with readable names.

``cluster`` standardises the features (log1p first for skewed counts and amounts), picks
the number of groups from 3 to 7 by silhouette unless told, and names each group from the
features whose centre sits furthest from the average customer, in standard deviations:
a group buying far more often and spending more per order than most becomes "Frequent big
spenders"; one writing to service a lot and buying rarely, "Chat-heavy occasional
buyers". The wording comes from each feature's unit (orders, money, days, events,
conversations, channels) and label, given by the caller.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import skew
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

K_RANGE = range(3, 8)
SAMPLE = 10_000
N_INIT = 10
# A centre this many standard deviations from the average names or describes its group.
NAME_Z = 0.5
DESCRIBE_Z = 0.3


@dataclass(frozen=True)
class Personas:
    """Groups of customers and how to assign new ones.

    ``labels``: the group of each row ``cluster`` was given (0 is the largest group; empty
    after ``from_dict``); ``centres``: each group's centre in the original units (for
    log-transformed features, the back-transformed centre: close to the group's median
    rather than its mean); ``z_centres``: the same in standard deviations from the average
    customer; ``names`` and ``descriptions``: per group; ``sizes``: rows per group;
    ``silhouettes``: the silhouette of each number of groups tried (empty when ``k`` was
    given).
    """

    feature_names: tuple[str, ...]
    logged: tuple[bool, ...]
    mean: FloatArray
    scale: FloatArray
    z_centres: FloatArray
    centres: FloatArray
    names: tuple[str, ...]
    descriptions: tuple[str, ...]
    sizes: tuple[int, ...]
    silhouettes: dict[int, float]
    labels: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def k(self) -> int:
        return int(self.z_centres.shape[0])

    def standardise(self, X: npt.ArrayLike) -> FloatArray:
        matrix = _matrix(X, len(self.feature_names))
        mask = np.array(self.logged, dtype=bool)
        matrix[:, mask] = np.log1p(np.maximum(matrix[:, mask], 0.0))
        return np.asarray((matrix - self.mean) / self.scale, dtype=np.float64)

    def assign(self, X: npt.ArrayLike) -> IntArray:
        """The nearest group of each row."""
        z = self.standardise(X)
        distance = ((z[:, None, :] - self.z_centres[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(distance.argmin(axis=1), dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form, without the per-row labels."""
        return {
            "feature_names": list(self.feature_names),
            "logged": list(self.logged),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "z_centres": self.z_centres.tolist(),
            "centres": self.centres.tolist(),
            "names": list(self.names),
            "descriptions": list(self.descriptions),
            "sizes": list(self.sizes),
            "silhouettes": {str(k): v for k, v in self.silhouettes.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Personas:
        names = tuple(str(n) for n in data["feature_names"])
        z_centres = np.asarray(data["z_centres"], dtype=np.float64)
        if z_centres.ndim != 2 or z_centres.shape[1] != len(names):
            raise ValueError("the stored personas are inconsistent")
        return cls(
            feature_names=names,
            logged=tuple(bool(v) for v in data["logged"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            z_centres=z_centres,
            centres=np.asarray(data["centres"], dtype=np.float64),
            names=tuple(str(n) for n in data["names"]),
            descriptions=tuple(str(d) for d in data["descriptions"]),
            sizes=tuple(int(s) for s in data["sizes"]),
            silhouettes={int(k): float(v) for k, v in data["silhouettes"].items()},
        )


def _matrix(X: npt.ArrayLike, columns: int) -> FloatArray:
    matrix = np.array(X, dtype=np.float64, copy=True)
    if matrix.ndim != 2 or matrix.shape[1] != columns:
        raise ValueError(f"X must be a matrix with {columns} columns")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("X has values that are not finite")
    return matrix


def skewed(X: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """The columns to log-transform by default: never negative, and skewed to the right
    (sample skewness above 1), as counts and amounts usually are."""
    matrix = np.asarray(X, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = np.nan_to_num(skew(matrix, axis=0), nan=0.0)
    return np.asarray((matrix.min(axis=0) >= 0) & (s > 1), dtype=np.bool_)


def _kmeans(z: FloatArray, k: int, seed: int) -> KMeans:
    """k-means with ``N_INIT`` starts, on one thread: threadpoolctl (a dependency of
    scikit-learn) keeps OpenMP to one thread, since on a shared machine its spinning
    threads made a clustering of a thousand rows forty times slower, and these matrices
    are narrow enough that one thread clusters a million rows in well under a minute."""
    model = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # Fewer distinct points than groups: k-means says so, and the groups come out
        # empty or duplicated; the silhouette then rules that k out.
        warnings.simplefilter("ignore")
        model.fit(z)
    return model


def cluster(
    X: npt.ArrayLike,
    feature_names: Sequence[str],
    k: int | None = None,
    seed: int = 0,
    labels: Mapping[str, tuple[str, str]] | None = None,
    logged: Iterable[str] | None = None,
) -> Personas:
    """Group customers (rows of ``X``) by k-means on standardised features.

    ``labels`` maps a feature name to (human label, unit), for the names and descriptions
    (without it the feature name is the label, and the unit is guessed from it).
    ``logged``: the features to log1p before standardising; by default those never
    negative and skewed (``skewed``). ``k``: the number of groups; by default the k in 3
    to 7 with the best mean silhouette on a random sample of at most 10,000 rows. Fits are
    deterministic for a given ``seed``; the groups are numbered from the largest.
    """
    names = tuple(feature_names)
    matrix = _matrix(X, len(names))
    n = matrix.shape[0]
    if n < 4:
        raise ValueError("at least 4 rows are needed to find groups")
    if logged is None:
        mask = skewed(matrix)
    else:
        chosen = set(logged)
        if chosen - set(names):
            raise ValueError(
                f"logged names features that are not in X: {sorted(chosen - set(names))}"
            )
        mask = np.array([name in chosen for name in names], dtype=bool)
    transformed = matrix.copy()
    transformed[:, mask] = np.log1p(np.maximum(transformed[:, mask], 0.0))
    mean = transformed.mean(axis=0)
    scale = transformed.std(axis=0)
    scale[scale == 0] = 1.0
    z = (transformed - mean) / scale

    silhouettes: dict[int, float] = {}
    fits: dict[int, KMeans] = {}
    if k is None:
        rng = np.random.default_rng(seed)
        whole = n <= SAMPLE
        sample = z if whole else z[rng.choice(n, SAMPLE, replace=False)]
        distinct = np.unique(sample, axis=0).shape[0]
        for candidate in K_RANGE:
            if candidate >= min(distinct, sample.shape[0]):
                break
            fitted = _kmeans(sample, candidate, seed)
            found = fitted.labels_
            if np.unique(found).size < candidate:
                continue
            with threadpool_limits(limits=1):
                score = silhouette_score(sample, found, random_state=seed)
            silhouettes[candidate] = float(score)
            if whole:
                fits[candidate] = fitted
        if not silhouettes:
            raise ValueError("the rows are too alike to form 3 groups")
        k = max(silhouettes, key=lambda c: (silhouettes[c], -c))
    elif not 1 <= k <= n:
        raise ValueError("k must be between 1 and the number of rows")

    model = fits[k] if k in fits else _kmeans(z, k, seed)
    raw = np.asarray(model.labels_, dtype=np.int64)
    sizes = np.bincount(raw, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))  # largest first, ties by k-means' order
    renumber = np.empty(k, dtype=np.int64)
    renumber[order] = np.arange(k)
    z_centres = np.asarray(model.cluster_centers_, dtype=np.float64)[order]
    centres = z_centres * scale + mean
    centres[:, mask] = np.expm1(centres[:, mask])
    assigned = renumber[raw]
    counts = np.bincount(assigned, minlength=k)

    described = [_feature(name, (labels or {}).get(name)) for name in names]
    group_names = _unique_names([_name(row, described) for row in z_centres], z_centres, described)
    descriptions = tuple(
        _describe(z_row, centre, int(count) / n, described)
        for z_row, centre, count in zip(z_centres, centres, counts, strict=True)
    )
    return Personas(
        feature_names=names,
        logged=tuple(bool(v) for v in mask),
        mean=np.asarray(mean, dtype=np.float64),
        scale=np.asarray(scale, dtype=np.float64),
        z_centres=z_centres,
        centres=np.asarray(centres, dtype=np.float64),
        names=tuple(group_names),
        descriptions=descriptions,
        sizes=tuple(int(c) for c in counts),
        silhouettes=silhouettes,
        labels=assigned,
    )


# Naming ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    """How to speak of a feature: its label and unit, and for a high and a low centre an
    adjective ("frequent") and a noun phrase ("frequent buyers")."""

    label: str
    unit: str
    high: tuple[str, str]
    low: tuple[str, str]


_ORDERS = (("frequent", "frequent buyers"), ("occasional", "occasional buyers"))
_MONEY = (("big-spending", "big spenders"), ("thrifty", "small spenders"))
_RECENCY = (("lapsed", "lapsed customers"), ("recent", "recent buyers"))
_TENURE = (("long-standing", "long-standing customers"), ("new", "newcomers"))
_SERVICE = (("chat-heavy", "chat-heavy customers"), ("self-reliant", "self-reliant customers"))
_EVENTS = (("engaged", "engaged visitors"), ("quiet", "quiet customers"))
_CHANNELS = (
    ("multichannel", "multichannel shoppers"),
    ("single-channel", "single-channel shoppers"),
)
_BY_UNIT = {
    "orders": _ORDERS,
    "purchases": _ORDERS,
    "money": _MONEY,
    "conversations": _SERVICE,
    "events": _EVENTS,
    "visits": _EVENTS,
    "channels": _CHANNELS,
}
# Without a known unit, the first keyword found in the name and label decides.
_BY_WORD = (
    ("value", _MONEY),
    ("revenue", _MONEY),
    ("spend", _MONEY),
    ("amount", _MONEY),
    ("order", _ORDERS),
    ("purchase", _ORDERS),
    ("conversation", _SERVICE),
    ("chat", _SERVICE),
    ("ticket", _SERVICE),
    ("channel", _CHANNELS),
    ("event", _EVENTS),
    ("visit", _EVENTS),
    ("touchpoint", _EVENTS),
)


def _feature(name: str, given: tuple[str, str] | None) -> _Words:
    """The words for a feature, from its unit, else from keywords of its name and label."""
    label, unit = given if given is not None else (name.replace("_", " "), "")
    text = f"{name} {label}".lower()
    if unit == "days" or (unit not in _BY_UNIT and "days" in text):
        tenure = "first" in text or "tenure" in text
        high, low = _TENURE if tenure else _RECENCY
        return _Words(label, unit, high, low)
    if unit in _BY_UNIT:
        high, low = _BY_UNIT[unit]
        return _Words(label, unit, high, low)
    for word, (high, low) in _BY_WORD:
        if word in text:
            return _Words(label, unit, high, low)
    return _Words(
        label,
        unit,
        (f"high-{label}", f"customers with high {label}"),
        (f"low-{label}", f"customers with low {label}"),
    )


def _ranked(z_row: FloatArray, threshold: float) -> list[int]:
    order = np.argsort(-np.abs(z_row), kind="stable")
    return [int(j) for j in order if abs(z_row[j]) >= threshold]


def _words(z: float, words: _Words) -> tuple[str, str]:
    return words.high if z > 0 else words.low


def _name(z_row: FloatArray, described: list[_Words]) -> str:
    strong = _ranked(z_row, NAME_Z)
    if not strong:
        return "Typical customers"
    noun = _words(float(z_row[strong[0]]), described[strong[0]])[1]
    adjective = ""
    for j in strong[1:]:
        candidate = _words(float(z_row[j]), described[j])[0]
        if candidate not in noun:
            adjective = candidate
            break
    text = f"{adjective} {noun}" if adjective else noun
    return text[0].upper() + text[1:]


def _unique_names(names: list[str], z_centres: FloatArray, described: list[_Words]) -> list[str]:
    """Groups with the same name get the adjective of their next strongest feature, and a
    number if that is not enough."""
    out = list(names)
    for i, name in enumerate(names):
        clash = [j for j, other in enumerate(names) if other == name]
        if len(clash) < 2:
            continue
        ranked = _ranked(z_centres[i], 0.0)
        extra = [
            _words(float(z_centres[i][j]), described[j])[0]
            for j in ranked
            if _words(float(z_centres[i][j]), described[j])[0] not in name.lower()
        ]
        out[i] = f"{name} ({extra[1] if len(extra) > 1 else extra[0]})" if extra else name
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            out[i] = f"{name} {seen[name]}"
    return out


def _amount(value: float, unit: str) -> str:
    value = 0.0 if abs(value) < 0.05 else value  # no "-0" from a back-transform
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".removesuffix(".0")
    if unit in ("", "money"):
        return number
    return f"{number} {unit[:-1] if number == '1' and unit.endswith('s') else unit}"


def _describe(z_row: FloatArray, centre: FloatArray, share: float, described: list[_Words]) -> str:
    """One sentence: the group's share of customers and the features that set it apart."""
    parts = []
    for j in _ranked(z_row, DESCRIBE_Z)[:3]:
        z = float(z_row[j])
        how = (
            "far above" if z >= 1.5 else "above" if z > 0 else "far below" if z <= -1.5 else "below"
        )
        parts.append(
            f"{described[j].label} {how} average ({_amount(float(centre[j]), described[j].unit)})"
        )
    percent = f"{share:.0%}" if share >= 0.01 else "under 1%"
    if not parts:
        return f"{percent} of customers, close to the average on every feature."
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{percent} of customers, with {listed}."
