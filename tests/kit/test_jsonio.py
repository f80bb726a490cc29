"""Fast JSON in and out gives the standard library's results."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from accord.kit import jsonio


def test_loads_reads_what_the_standard_library_reads() -> None:
    for doc in ('{"a": [1, 2.5, "é", null, true]}', "[]", '"x"', "12", '{"n": 1e400}'):
        assert jsonio.loads(doc) == json.loads(doc)
        assert jsonio.loads(doc.encode()) == json.loads(doc)
    # Beyond orjson: NaN and Infinity literals, a lone surrogate escape, big integers.
    assert math.isnan(jsonio.loads('{"v": NaN}')["v"])
    assert jsonio.loads("[Infinity]") == [math.inf]
    assert jsonio.loads('["\\ud800"]') == ["\ud800"]
    assert jsonio.loads("[123456789012345678901234567890]") == [123456789012345678901234567890]
    # Integers at the edges of 64 bits, in text and in bytes, stay exact integers.
    for edge in (
        -9223372036854775808,
        -9223372036854775809,
        -9999999999999999999,
        18446744073709551615,
        18446744073709551616,
    ):
        for doc in (f'{{"n": {edge}}}', f'{{"n": {edge}}}'.encode()):
            value = jsonio.loads(doc)["n"]
            assert value == edge
            assert isinstance(value, int)


def test_loads_refuses_what_is_not_json() -> None:
    for bad in ("{", "[1,]", "nope", b"\xff"):
        try:
            jsonio.loads(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was read")


def test_dumps_writes_ids_times_and_amounts_as_text() -> None:
    ident = uuid.uuid4()
    at = datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    local = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    value = {"id": ident, "at": at, "local": local, "day": date(2026, 5, 1), "x": Decimal("1.10")}
    assert json.loads(jsonio.dumps(value)) == {
        "id": str(ident),
        "at": at.isoformat(),
        "local": local.isoformat(),
        "day": "2026-05-01",
        "x": "1.10",
    }


def test_dumps_falls_back_where_orjson_cannot() -> None:
    big = 123456789012345678901234567890
    assert json.loads(jsonio.dumps({"n": big, "d": Decimal("2.5")})) == {"n": big, "d": "2.5"}
    assert json.loads(jsonio.dumps({1: "non-string key"})) == {"1": "non-string key"}
    assert json.loads(jsonio.dumps({"nul": "a\u0000b"})) == {"nul": "a\u0000b"}
