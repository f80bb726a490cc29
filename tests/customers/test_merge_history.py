"""The merge history on the Customer 360, on both databases: each entry names and links
the other profile, undoing a merge asks first, and only a merge this person survived (a
whole profile joined into them, not yet undone) offers an undo. The identifiers a split
moves back are shown as moved, with no undo of their own."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login
from tests.resolve.test_identity import Api

AGENT = "agent@acme-support.com"
UNDO = re.compile(r'<form method="post" action="/customers/[^"]+/split"([^>]*)>')


def _entries(html: str) -> dict[str, str]:
    """Each merge of the page's history: its id and its text."""
    section = html[html.index('id="merges"') :]
    section = section[: section.index("</ul>")]
    return dict(re.findall(r'<li class="[^"]*" id="merge-([^"]+)">(.*?)</li>', section, re.S))


def test_history_links_the_other_profile_and_offers_only_real_undos(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="u-1", traits={"email": "lee@example.com", "name": "Lee Park"})
    api.send(
        "identify",
        anonymousId="store-9",
        traits={"phone": "(512) 555-0134", "name": "L. Park (walk-in)"},
        context={"channel": "store"},
    )
    walk_in = api.profile(phone="+15125550134")["id"]
    api.send("identify", anonymousId="store-9", traits={"email": "lee@example.com"})
    main = api.profile(email="lee@example.com")["id"]
    assert main != walk_in
    add_user(session, workspace, AGENT, "agent")
    csrf = console_login(client, AGENT)

    page = client.get(f"/customers/{main}").text
    [(merge_id, entry)] = _entries(page).items()
    assert "Merged in" in entry
    assert "L. Park (walk-in)" in entry
    # One undo, and it asks first (on the form, where htmx looks for it).
    [attributes] = UNDO.findall(page)
    assert "hx-confirm=" in attributes
    assert "L. Park (walk-in)" in attributes

    r = client.post(
        f"/customers/{main}/split",
        data={"csrf_token": csrf, "merge_id": merge_id},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    notice = re.search(r'<div class="alert success[^"]*"[^>]*id="undone">(.*?)</div>', page, re.S)
    assert notice
    assert f'href="/customers/{walk_in}"' in notice.group(1)
    entries = _entries(page)
    assert f'href="/customers/{walk_in}"' in entries[merge_id]  # the other profile, linked
    assert "Split " in entries[merge_id]
    # What the split moved back is shown as moved, and neither page offers another undo.
    [moved] = [e for i, e in entries.items() if i != merge_id]
    assert "Identifiers moved" in moved
    assert UNDO.findall(page) == []
    other = client.get(f"/customers/{walk_in}").text
    assert UNDO.findall(other) == []
    assert f'href="/customers/{main}"' in other
    # Nor does the API undo a reassignment.
    [reassignment] = [i for i in entries if i != merge_id]
    r = client.post(
        f"/api/v1/profiles/{walk_in}/split",
        json={"merge_id": reassignment},
        headers=bearer(workspace.api_token),
    )
    assert (r.status_code, r.json()["code"]) == (422, "no_merge")
