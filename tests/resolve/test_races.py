"""Concurrent requests that introduce the same new identifier never make two people, even
with two API processes' resolvers working at once (two servers on one database)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from accord.app import create_app
from accord.collect.models import Event
from accord.resolve.models import Identifier
from tests.helpers import Committed, live_server


def test_same_new_identifier_at_once_is_one_person(committed: Committed) -> None:
    factory = committed.factory
    ws = committed.workspace("Race Co")
    settings = committed.settings()
    rounds, per_round = 6, 12
    with live_server(create_app(settings)) as one, live_server(create_app(settings)) as two:

        def send(i: int) -> int:
            base = one if i % 2 else two
            email = f"new-{i // per_round}@example.com"
            response = httpx.post(
                f"{base}/v1/identify",
                json={"anonymousId": f"browser-{i}", "traits": {"email": email}},
                auth=(ws.write_key, ""),
                timeout=30,
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=per_round) as pool:
            codes = list(pool.map(send, range(rounds * per_round)))
        assert codes == [200] * (rounds * per_round)
        deadline = time.monotonic() + 30
        while True:
            with factory() as session:
                pending = session.scalar(
                    select(func.count()).select_from(Event).where(Event.status == "pending")
                )
            if pending == 0:
                break
            assert time.monotonic() < deadline, f"{pending} events still pending"
            time.sleep(0.1)

    with factory() as session:
        for r in range(rounds):
            email = f"new-{r}@example.com"
            (email_row,) = session.scalars(
                select(Identifier).where(Identifier.type == "email", Identifier.value == email)
            ).all()
            browsers = session.scalars(
                select(Identifier.profile_id).where(
                    Identifier.type == "anonymous_id",
                    Identifier.value.in_(
                        [f"browser-{r * per_round + k}" for k in range(per_round)]
                    ),
                )
            ).all()
            assert set(browsers) == {email_row.profile_id}
