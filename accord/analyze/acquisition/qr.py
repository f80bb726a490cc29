"""QR codes of short links (segno): SVG for print, PNG for everything else. Error
correction M (a code survives a smudge or a fold), the standard quiet zone of four
modules."""

from __future__ import annotations

import io

import segno

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def image(url: str, kind: str, *, scale: int = 10, title: str | None = None) -> bytes:
    """The QR code of ``url`` as ``kind`` (``svg`` or ``png``)."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=scale, border=4, title=title or url)
    else:
        code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
