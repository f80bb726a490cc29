"""Sentiment benchmark: Accord's :func:`accord.social.sentiment.analyse` beside VADER on a
labelled set of social posts (no database involved).

The data set is not shipped with Accord. The bench reads either a TweetEval-style folder
(``<split>_text.txt`` and ``<split>_labels.txt``, one post a line, labels 0 negative,
1 neutral, 2 positive; the folder itself or its ``sentiment/`` subfolder) or one TSV/CSV
file of text and label (label words or 0/1/2, an optional header row, the split ignored).
Both systems are scored on the same posts: accuracy, macro-F1 over the three classes,
F1 of each class and posts a second on one core."""

from __future__ import annotations

import csv
import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accord.social.sentiment import Sentiment

CLASSES = ("negative", "neutral", "positive")
# What to download when no data set is given.
DATA_HELP = (
    "The sentiment bench needs a labelled set of posts, given with --data PATH. "
    "TweetEval's sentiment task (https://github.com/cardiffnlp/tweeteval, folder "
    "datasets/sentiment/: test_text.txt and test_labels.txt, labels 0 negative, 1 neutral, "
    "2 positive) is the usual one: download that folder and pass it as --data. A TSV or CSV "
    "file of text and label (negative/neutral/positive or 0/1/2) works too."
)
_LABEL_WORDS = {
    "0": "negative",
    "1": "neutral",
    "2": "positive",
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
    "neg": "negative",
    "neu": "neutral",
    "pos": "positive",
}
# TweetEval's files keep some characters as literal "\u2019" escapes.
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


class DataError(ValueError):
    """The data set is missing or not in a form the bench reads."""


def clean(text: str) -> str:
    """A post as its author wrote it: HTML entities and literal \\uXXXX escapes decoded."""
    if "\\u" in text:
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return html.unescape(text).strip()


def _label(raw: str, where: str) -> str:
    label = _LABEL_WORDS.get(raw.strip().lower())
    if label is None:
        raise DataError(f"{where}: unknown label {raw.strip()!r}")
    return label


def load(path: Path, split: str = "test") -> tuple[list[str], list[str]]:
    """The posts and their labels ("negative", "neutral", "positive") of a data set."""
    if path.is_dir():
        folder = path
        if not (folder / f"{split}_text.txt").exists() and (path / "sentiment").is_dir():
            folder = path / "sentiment"
        texts_file = folder / f"{split}_text.txt"
        labels_file = folder / f"{split}_labels.txt"
        if not texts_file.exists() or not labels_file.exists():
            raise DataError(f"{path}: no {split}_text.txt and {split}_labels.txt")
        texts = texts_file.read_text(encoding="utf-8").splitlines()
        raw_labels = labels_file.read_text(encoding="utf-8").splitlines()
        if len(texts) != len(raw_labels):
            raise DataError(f"{path}: {len(texts)} posts but {len(raw_labels)} labels")
        labels = [_label(r, f"{labels_file}:{n + 1}") for n, r in enumerate(raw_labels)]
        return [clean(t) for t in texts], labels
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    return _load_table(path)


def _load_table(path: Path) -> tuple[list[str], list[str]]:
    """Rows of text and label from a TSV or CSV file (the label in either column)."""
    with path.open(encoding="utf-8", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        delimiter = "\t" if "\t" in sample or path.suffix.lower() == ".tsv" else ","
        rows = [r for r in csv.reader(handle, delimiter=delimiter) if r]
    if not rows:
        raise DataError(f"{path}: empty")
    texts: list[str] = []
    labels: list[str] = []
    for n, row in enumerate(rows):
        if len(row) < 2:
            raise DataError(f"{path}:{n + 1}: expected text and label")
        first, last = row[0].strip().lower(), row[-1].strip().lower()
        if last in _LABEL_WORDS:
            text, label = delimiter.join(row[:-1]), last
        elif first in _LABEL_WORDS:
            text, label = delimiter.join(row[1:]), first
        elif n == 0:
            continue  # a header row
        else:
            raise DataError(f"{path}:{n + 1}: no label in the first or last column")
        texts.append(clean(text))
        labels.append(_label(label, f"{path}:{n + 1}"))
    return texts, labels


@dataclass(frozen=True)
class Scores:
    """How one system did on the data set."""

    name: str
    accuracy: float
    macro_f1: float
    f1: dict[str, float]  # by class
    posts_per_second: float


def throughput(work: Callable[[str], object], texts: list[str], rounds: int = 1) -> float:
    """Posts a second of ``work`` over ``texts``: the best of ``rounds`` passes, in CPU
    time of this one thread (what one core does, whatever else the machine runs)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        for text in texts:
            work(text)
        best = min(best, time.thread_time() - started)
    return len(texts) / best if best > 0 else float("inf")


def pipeline_throughput(
    analyse: Callable[[str], Sentiment],
    intents: Callable[[str, Sentiment], object],
    texts: list[str],
    rounds: int = 1,
) -> tuple[float, float]:
    """Posts a second of the intents alone (the post's sentiment given, as the listening
    pipeline calls them) and of sentiment and intents together: the best of ``rounds``
    passes in CPU time of this thread, shared between the two by their wall-clock time."""
    best_intents = best_both = float("inf")
    clock = time.perf_counter_ns
    for _ in range(rounds):
        feeling_ns = intents_ns = 0
        started = time.thread_time()
        for text in texts:
            t0 = clock()
            feeling = analyse(text)
            t1 = clock()
            intents(text, feeling)
            t2 = clock()
            feeling_ns += t1 - t0
            intents_ns += t2 - t1
        cpu = time.thread_time() - started
        best_both = min(best_both, cpu)
        best_intents = min(best_intents, cpu * intents_ns / max(1, feeling_ns + intents_ns))
    n = len(texts)
    return (
        n / best_intents if best_intents > 0 else float("inf"),
        n / best_both if best_both > 0 else float("inf"),
    )


def score(
    name: str,
    classify: Callable[[str], str],
    texts: list[str],
    labels: list[str],
    rounds: int = 1,
) -> Scores:
    """Classify every post and compare with the labels; time ``rounds`` passes."""
    predicted = [classify(t) for t in texts]
    correct = sum(p == g for p, g in zip(predicted, labels, strict=True))
    f1: dict[str, float] = {}
    for c in CLASSES:
        tp = sum(p == c and g == c for p, g in zip(predicted, labels, strict=True))
        said = sum(p == c for p in predicted)
        truly = sum(g == c for g in labels)
        f1[c] = 2 * tp / (said + truly) if said + truly else 0.0
    return Scores(
        name=name,
        accuracy=correct / len(labels) if labels else 0.0,
        macro_f1=sum(f1.values()) / len(CLASSES),
        f1=f1,
        posts_per_second=throughput(classify, texts, rounds),
    )


def accord_classifier() -> Callable[[str], str]:
    """Accord's sentiment label of a post."""
    from accord.social.sentiment import analyse

    analyse("warm up")  # the lexicon is read on the first call, not timed
    return lambda text: analyse(text).label


def vader_classifier() -> Callable[[str], str]:
    """VADER's label, with its documented thresholds on the compound score (>= 0.05
    positive, <= -0.05 negative, neutral between)."""
    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer,
    )

    analyzer = SentimentIntensityAnalyzer()

    def classify(text: str) -> str:
        compound = float(analyzer.polarity_scores(text)["compound"])
        if compound >= 0.05:
            return "positive"
        if compound <= -0.05:
            return "negative"
        return "neutral"

    return classify


@dataclass(frozen=True)
class Result:
    """The bench's figures, one system a column."""

    source: str
    split: str
    counts: dict[str, int]
    systems: list[Scores]
    rounds: int = 1
    intents_per_second: float | None = None  # Accord's intents, the sentiment given
    both_per_second: float | None = None  # Accord's sentiment and intents of a post

    def lines(self) -> list[str]:
        """The figures as printed."""
        total = sum(self.counts.values())
        shares = ", ".join(f"{self.counts[c]} {c}" for c in CLASSES)
        head = f"{'':<22}" + "".join(f"{s.name:>12}" for s in self.systems)
        rows = [
            f"sentiment bench: {self.source}, split {self.split}: {total} posts ({shares})",
            head,
            self._row("accuracy", [s.accuracy for s in self.systems]),
            self._row("macro-F1", [s.macro_f1 for s in self.systems]),
        ]
        rows += [self._row(f"F1 {c}", [s.f1[c] for s in self.systems]) for c in CLASSES]
        rows.append(
            f"{'posts/s (one core)':<22}"
            + "".join(f"{s.posts_per_second:>12,.0f}" for s in self.systems)
        )
        if self.intents_per_second is not None and self.both_per_second is not None:
            rows.append(
                f"Accord intents: {self.intents_per_second:,.0f} posts/s with the sentiment "
                f"given, {self.both_per_second:,.0f} posts/s for sentiment and intents together"
            )
        rows.append(
            f"(posts/s: CPU time of one thread, best of {self.rounds} pass"
            f"{'es' if self.rounds > 1 else ''} over the posts)"
        )
        return rows

    @staticmethod
    def _row(name: str, values: list[float]) -> str:
        return f"{name:<22}" + "".join(f"{v:>12.3f}" for v in values)


def run(
    path: Path,
    split: str = "test",
    limit: int | None = None,
    rounds: int = 3,
    progress: Callable[[int], None] = lambda n: None,
) -> Result:
    """Score Accord and VADER on the data set at ``path`` (the first ``limit`` posts),
    timing ``rounds`` passes of each; time Accord's intents too."""
    from accord.social.intent import intents
    from accord.social.sentiment import analyse

    texts, labels = load(path, split)
    if limit is not None:
        texts, labels = texts[:limit], labels[:limit]
    if not texts:
        raise DataError(f"{path}: no posts in split {split}")
    systems = []
    for name, make in (("Accord", accord_classifier), ("VADER", vader_classifier)):
        systems.append(score(name, make(), texts, labels, rounds))
        progress(1)
    intents("warm up")
    per_intents, per_both = pipeline_throughput(analyse, intents, texts, rounds)
    progress(1)
    counts = {c: labels.count(c) for c in CLASSES}
    return Result(
        source=str(path),
        split=split,
        counts=counts,
        systems=systems,
        rounds=rounds,
        intents_per_second=per_intents,
        both_per_second=per_both,
    )


def report_lines(path: Path, split: str = "test") -> list[str]:
    """The bench's printed lines on the data set at ``path`` (for other benches to show)."""
    return run(path, split).lines()
