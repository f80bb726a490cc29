"""The charts and words of the customer analytics dashboards
(``customer_analytics_pages.py``), built from a recompute's metrics and the scoring
queries: plain functions of plain data, so each reads the same on the page, in its
summary and in its downloads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from accord.analyze.scoring import queries
from accord.web.charts import (
    BarChart,
    Chart,
    HeatMap,
    Histogram,
    LineChart,
    Point,
    PredictedActualChart,
    ScatterChart,
    Series,
    Unit,
)

MONEY = Unit(decimals=0)
SHARE = Unit.percent()
DASH = "\u2013"  # a missing value
ALPHA = "\u03b1"
# What each quadrant of the value-and-cost matrix asks for.
ADVICE = {
    "valuable and cheap": "Keep them close: they bring revenue and need little help.",
    "valuable and costly": "Worth serving, for less: self-service and proactive answers.",
    "less valuable and cheap": "Room to grow: offers and reminders, at little cost.",
    "less valuable and costly": "Find out why they need so much help before it grows.",
}


def percent(value: float | None, decimals: int = 0) -> str:
    return DASH if value is None else f"{value * 100:.{decimals}f}%"


def money(value: float | None) -> str:
    """An amount as the dashboards show it: whole from 100 up, with cents below."""
    if value is None:
        return DASH
    return f"{value:,.0f}" if abs(value) >= 100 or value == 0 else f"{value:,.2f}"


def factor_words(factors: list[dict[str, Any]] | None) -> str:
    """A churn risk's reasons in words: the features that raise it most."""
    labels = [f["label"] for f in factors or [] if float(f.get("contribution") or 0) > 0]
    if not labels:
        return "No single reason stands out."
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"Raised most by {listed}."


def group_chart(groups: list[dict[str, Any]]) -> BarChart:
    people = sum(g["people"] for g in groups) or 1
    revenue = sum(max(g["revenue"], 0.0) for g in groups) or 1.0
    return BarChart(
        key="rfm-groups",
        title="Customers and revenue by RFM group",
        description="Each group's share of the customers and of their net revenue.",
        labels=[g["label"] for g in groups],
        series=[
            Series("Share of customers", [g["people"] / people for g in groups]),
            Series("Share of revenue", [max(g["revenue"], 0.0) / revenue for g in groups]),
        ],
        unit=SHARE,
        horizontal=True,
    )


def grid_chart(grid: list[list[int]]) -> HeatMap:
    """Recency down (5, the most recent, on top), frequency across."""
    return HeatMap(
        key="rfm-grid",
        title="Customers by recency and frequency score",
        description="Scores are quintiles: 5 is the most recent buyers, or those who buy "
        "most often.",
        rows=[f"Recency {r}" for r in range(5, 0, -1)],
        columns=[f"Frequency {f}" for f in range(1, 6)],
        values=[[float(n) for n in grid[r - 1]] for r in range(5, 0, -1)],
        row_title="Recency score",
    )


def holdout_chart(life: dict[str, Any]) -> PredictedActualChart:
    return PredictedActualChart(
        key="lifetime-holdout",
        title="Repeat purchases in the holdout weeks: predicted and actual",
        description="Cumulative repeat purchases of the customers known at the start of "
        "the holdout, week by week.",
        labels=[f"Week {w}" for w in life["weeks"]],
        actual=life["actual"],
        predicted=life["predicted"],
        actual_name="Actual",
        predicted_name="Predicted",
    )


def holdout_words(life: dict[str, Any], churn_days: int) -> str:
    predicted, actual = life["predicted"][-1], life["actual"][-1]
    weeks = len(life["weeks"])
    fitted = f"Fitted on the {life['customers']:,} customers known {churn_days} days ago, the model"
    if predicted is None:
        return f"{fitted} could not predict their next {weeks} weeks: its fit did not converge."
    said = (
        f"{fitted} predicted {predicted:,.0f} repeat purchases over the next {weeks} weeks; "
        f"{actual:,.0f} happened"
    )
    error = life.get("error")
    if error is None:
        return said + "."
    if abs(error) < 0.005:
        return said + ": spot on."
    way = "more" if error > 0 else "fewer"
    return f"{said}: the prediction was {abs(error) * 100:.0f}% {way} than what happened."


def clv_chart(values: list[float], step: int, horizon_days: int) -> Histogram:
    """How lifetime values spread; ``step``: how many customers each value stands for."""
    sampled = f" (every {step:,}th customer by value)" if step > 1 else ""
    return Histogram(
        key="clv",
        title="Lifetime value of customers",
        description=f"Expected value over the next {horizon_days} days, discounted{sampled}.",
        values=values,
        unit=MONEY,
        count_name="Customers" if step == 1 else f"Customers (1 in {step:,})",
    )


def parameter_rows(models: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The fitted parameters with what they mean: (model, parameter, value, meaning)."""
    rows: list[tuple[str, str, str, str]] = []
    bg = models.get("bgnbd") or {}
    if bg:
        rate = bg["r"] / bg["alpha"] if bg.get("alpha") else math.nan
        leave = bg["a"] / (bg["a"] + bg["b"]) if bg["a"] + bg["b"] else math.nan
        rows += [
            ("BG/NBD", "r", f"{bg['r']:.3g}", "shape of the purchase rates across customers"),
            (
                "BG/NBD",
                ALPHA,
                f"{bg['alpha']:.3g}",
                f"scale: {rate:.2f} purchases a week on average",
            ),
            ("BG/NBD", "a", f"{bg['a']:.3g}", "with b, the chance of leaving after a purchase"),
            ("BG/NBD", "b", f"{bg['b']:.3g}", f"a {leave * 100:.0f}% chance on average"),
        ]
    gg = models.get("gamma_gamma") or {}
    if gg:
        mean = gg["p"] * gg["v"] / (gg["q"] - 1) if gg["q"] > 1 else math.nan
        rows += [
            ("Gamma-Gamma", "p", f"{gg['p']:.3g}", "shape of the spread of one customer's orders"),
            (
                "Gamma-Gamma",
                "q",
                f"{gg['q']:.3g}",
                "with v, how order values vary between customers",
            ),
            ("Gamma-Gamma", "v", f"{gg['v']:.3g}", f"an order is worth {money(mean)} on average"),
        ]
    return rows


def auc_chart(churn: dict[str, Any]) -> BarChart:
    return BarChart(
        key="churn-auc",
        title="How well churners are ranked (AUC, later period)",
        description="The chance that a customer who left is ranked above one who stayed; "
        "50% is a coin toss.",
        labels=["Churn model", "Recency alone"],
        series=[Series("AUC", [churn["auc"], churn["baseline_auc"]])],
        unit=SHARE,
        horizontal=True,
    )


def calibration_bins(churn: dict[str, Any]) -> list[dict[str, Any]]:
    """The calibration bins (customers of the later period in tenths by predicted risk)
    with people in them, each labelled by its mean predicted risk."""
    bins = [b for b in churn.get("calibration") or [] if b.get("count")]
    labels: list[str] = []
    for b in bins:
        label = f"{b['predicted'] * 100:.0f}%"
        if label in labels:
            label = f"{b['predicted'] * 100:.1f}%"
        while label in labels:
            label += "\u2009"  # a thin space: each band a label of its own
        labels.append(label)
    return [
        {"label": label, "predicted": b["predicted"], "observed": b["observed"], "n": b["count"]}
        for label, b in zip(labels, bins, strict=True)
    ]


def calibration_chart(bins: list[dict[str, Any]]) -> PredictedActualChart:
    return PredictedActualChart(
        key="churn-calibration",
        title="Predicted and observed churn, by tenth of customers by risk",
        description="The customers of the later period in ten groups of equal size by "
        "the risk the model gave them, each labelled by its mean predicted risk; a "
        "well-calibrated model's lines lie on each other.",
        labels=[b["label"] for b in bins],
        actual=[b["observed"] for b in bins],
        predicted=[b["predicted"] for b in bins],
        actual_name="Observed churn",
        predicted_name="Predicted churn",
        unit=SHARE,
        over_time=False,
    )


def persona_chart(found: list[dict[str, Any]]) -> BarChart:
    people = sum(p["people"] for p in found) or 1
    revenue = sum(p["revenue"] for p in found) or 1.0
    return BarChart(
        key="personas",
        title="People and revenue by persona",
        description="Each persona's share of the people grouped and of their net revenue.",
        labels=[p["name"] for p in found],
        series=[
            Series("Share of people", [p["people"] / people for p in found]),
            Series("Share of revenue", [p["revenue"] / revenue for p in found]),
        ],
        unit=SHARE,
        horizontal=True,
    )


@dataclass(kw_only=True)
class ParetoChart(LineChart):
    """The Pareto curves, summed up in words of their own: what the top 20% hold."""

    said: str = ""

    @property
    def summary(self) -> str:
        return self.said or super().summary


def pareto_words(shares: dict[str, Any]) -> str:
    revenue = shares.get("revenue") or {}
    talks = shares.get("conversations") or {}
    cost = shares.get("cost") or {}
    if revenue.get("top20_share") is None:
        said = "No customer has revenue yet."
    else:
        said = (
            f"The top 20% of the {revenue['holders']:,} customers with revenue bring "
            f"{percent(revenue['top20_share'])} of it (an even spread would be 20%)."
        )
    if talks.get("top20_share") is None:
        return said + " No conversations are counted yet, so there is no cost to serve."
    said += (
        f" The 20% of the {talks['holders']:,} people served who talk to service most hold "
        f"{percent(talks['top20_share'])} of the conversations"
    )
    if cost.get("top20_share") is None:
        return said + "; no price is set for a conversation, so there is no cost to serve."
    return said + f", and the costliest 20% take {percent(cost['top20_share'])} of the cost."


def pareto_chart(pareto: dict[str, Any]) -> ParetoChart:
    steps = list(range(0, 101, 5))
    series = [Series("Share of revenue", pareto["revenue"]["curve"], "solid")]
    cost = pareto.get("cost") or {}
    if cost.get("curve"):
        series.append(Series("Share of cost to serve", cost["curve"], "dashed"))
    series.append(Series("Even spread", [q / 100 for q in steps], "dotted"))
    return ParetoChart(
        key="pareto",
        title="Share held by the top customers",
        description="Customers ranked by revenue (and, for the cost line, by cost to "
        "serve): how much the top share of them holds.",
        labels=[f"Top {q}%" for q in steps],
        series=series,
        unit=SHARE,
        over_time=False,
        said=pareto_words(pareto),
    )


def value_cost_chart(matrix: dict[str, Any]) -> ScatterChart:
    return ScatterChart(
        key="value-cost",
        title="Value against cost to serve",
        description=f"The {len(matrix['points']):,} most valuable and most costly of "
        f"{matrix['customers']:,} customers; the dashed lines are the medians.",
        points=[Point(p["name"], p["cost"], p["revenue"]) for p in matrix["points"]],
        x_title="Cost to serve",
        y_title="Net revenue",
        x_unit=MONEY,
        unit=MONEY,
        x_split=matrix["cost_split"],
        y_split=matrix["revenue_split"],
        quadrants=queries.QUADRANTS,
        label_points=False,
        height=380,
    )


def cohort_charts(cohorts: dict[str, Any]) -> list[Chart]:
    names = cohorts["cohorts"]
    return [
        HeatMap(
            key="cohort-retention",
            title="Customers buying again, by month of first purchase",
            description="The share of each month's new customers who bought in each month "
            "since (month 0 is the first purchase).",
            rows=names,
            columns=[f"Month {o}" for o in cohorts["offsets"]],
            values=cohorts["retention"],
            unit=SHARE,
            row_title="First purchase",
        ),
        BarChart(
            key="cohort-sizes",
            title="New customers by month of first purchase",
            labels=names,
            series=[Series("New customers", [float(n) for n in cohorts["sizes"]])],
            over_time=True,
        ),
    ]
