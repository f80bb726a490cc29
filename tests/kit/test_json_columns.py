"""JSON columns are read with orjson, except where that would change a value."""

from __future__ import annotations

from sqlalchemy import JSON, text
from sqlalchemy.orm import Session

from accord.kit.jsonio import loads as json_loads


def test_reads_plain_documents() -> None:
    doc = '{"a": [1, 2.5, "x", null, true], "b": {"c": "é"}}'
    assert json_loads(doc) == {"a": [1, 2.5, "x", None, True], "b": {"c": "é"}}
    assert json_loads(doc.encode()) == json_loads(doc)


def test_integers_beyond_64_bits_stay_exact() -> None:
    big = 123456789012345678901234567890
    assert json_loads(f'{{"n": {big}}}') == {"n": big}
    assert json_loads(f"[{big}]".encode()) == [big]
    assert json_loads('{"n": 18446744073709551615}') == {"n": 18446744073709551615}


def test_a_json_column_reads_back_exactly(session: Session) -> None:
    big = 98765432109876543210987654321
    doc = f'{{"n": {big}, "s": "x"}}'
    cast = "CAST(:d AS json)" if session.get_bind().dialect.name == "postgresql" else ":d"
    stmt = text(f"SELECT {cast} AS v").columns(v=JSON)
    assert session.execute(stmt, {"d": doc}).scalar_one() == {"n": big, "s": "x"}
    assert session.execute(stmt, {"d": '{"n": 1}'}).scalar_one() == {"n": 1}
