"""`accord resolve` on the demo retailer: store walk-ins known only by name and postcode
are merged into their online profiles, on both databases."""

from __future__ import annotations

import re
from collections import defaultdict

from sqlalchemy import select
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.kit.db import create_db_engine, create_session_factory
from accord.resolve.models import Identifier, Merge

runner = CliRunner()


def test_accord_resolve_merges_store_walk_ins_into_their_online_profiles(cli_db: str) -> None:
    # `accord demo` runs the matching once on the data it loads; `accord resolve` again
    # then has nothing left to merge.
    demo = runner.invoke(cli, ["demo", "--customers", "200"])
    assert demo.exit_code == 0, demo.output
    merged = int(re.search(r"Probabilistic matching: ([\d,]+) merged", demo.output).group(1))  # type: ignore[union-attr]
    assert merged > 5
    result = runner.invoke(cli, ["resolve", "--workspace", "demo-outfitters"])
    assert result.exit_code == 0, result.output
    assert "done" in result.output
    # The blocking rules, each with the pairs it made (the demo's names and postcodes).
    assert re.search(r"blocking rules\s+.*first_formal\+last_name[^;]* \d", result.output)
    again = int(re.search(r"merged\s+([\d,]+)", result.output).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert again <= merged // 10

    engine = create_db_engine(cli_db)
    try:
        with create_session_factory(engine)() as session:
            held = defaultdict(set)
            for ident in session.scalars(
                select(Identifier).where(Identifier.profile_id.is_not(None))
            ):
                held[ident.profile_id].add((ident.type, ident.value))
            walk_ins = right = wrong = 0
            for ids in held.values():
                users = {v for t, v in ids if t == "user_id"}
                for t, v in ids:
                    if t == "pos_customer" and v.startswith("W"):
                        walk_ins += 1
                        if f"cust-{int(v[1:]):05d}" in users:
                            right += 1
                        elif users:
                            wrong += 1
                    if t == "pos_customer" and v.startswith("P"):
                        assert not users, "a store-only customer was merged into someone else"
            assert wrong == 0
            assert right >= 0.8 * walk_ins
            assert right >= merged - 1
            rules = set(session.scalars(select(Merge.rule)))
            assert "probabilistic" in rules
    finally:
        engine.dispose()


def test_accord_resolve_refuses_an_unknown_engine_or_workspace(cli_db: str) -> None:
    bad = runner.invoke(cli, ["resolve", "--workspace", "demo-outfitters", "--engine", "oracle"])
    assert bad.exit_code == 2
    missing = runner.invoke(cli, ["resolve", "--workspace", "nope"])
    assert missing.exit_code == 2
    assert "No workspace" in missing.output
