"""Downloads of a page's charts: the page's own route serves them, so no chart needs a
route of its own. A page builds its charts, then calls :func:`chart_export`; with
``?export=<chart key>&format=csv|svg`` in the query the answer is that chart's data or
image as an attachment, otherwise None and the page renders as usual."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from fastapi.responses import Response

from accord.kit.errors import invalid, not_found
from accord.web.charts.base import Chart, safe_id

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "svg": "image/svg+xml",
}


def chart_export(request: Request, charts: Iterable[Chart]) -> Response | None:
    """The chart ``?export=`` names, as a file in ``?format=`` (csv or svg); None when
    the request asks for no export. An unknown chart is 404, an unknown format 422."""
    key = request.query_params.get("export")
    if not key:
        return None
    fmt = request.query_params.get("format", "csv")
    if fmt not in FORMATS:
        raise invalid("The format must be csv or svg", field="format")
    chart = next((c for c in charts if c.key == key), None)
    if chart is None:
        raise not_found("Chart", field="export")
    body = chart.csv() if fmt == "csv" else chart.document()
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={
            "content-disposition": f'attachment; filename="{safe_id(chart.key)}.{fmt}"',
            "cache-control": "no-store",
        },
    )
