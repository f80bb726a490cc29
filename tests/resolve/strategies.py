"""What the resolution property tests draw in common."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def add_sender(draw: Any, msg: dict[str, Any], users: list[str], anons: list[str]) -> None:
    """Give a drawn message its sender: a user id, an anonymous id or both, never neither."""
    user = draw(st.sampled_from([None, *users]))
    anon = draw(st.sampled_from([None, *anons]))
    if user is None and anon is None:
        anon = draw(st.sampled_from(anons))
    if user:
        msg["userId"] = user
    if anon:
        msg["anonymousId"] = anon
