"""Analytics > Acquisition in the console without a browser, on both databases: the page
needs a session and the analytics scope (an agent gets none of it), its forms carry the
session's CSRF token, a refused form shows its error beside the field, QR codes
download as SVG and PNG, the charts' data downloads, another workspace's campaign is a
404, and the Customer 360 shows the person's first and last touch."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login
from tests.resolve.test_identity import Api

HTML = {"accept": "text/html"}
ANALYST = "ana.lyst@acme.test"
AGENT = "a.gent@acme.test"
PAGE = "/analytics/acquisition"


def test_the_page_needs_a_session_and_analytics(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    r = client.get(PAGE, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/login?next={PAGE}")
    add_user(session, workspace, AGENT, role="agent")
    console_login(client, AGENT)
    refused = client.get(PAGE, headers=HTML)
    assert refused.status_code == 403
    assert 'id="nav-acquisition"' not in client.get("/customers").text


def test_an_analyst_adds_a_campaign_and_a_link_and_downloads_its_qr_code(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, role="analyst")
    csrf = console_login(client, ANALYST)
    empty = client.get(PAGE)
    assert empty.status_code == 200
    assert 'id="nav-acquisition"' in empty.text
    assert 'aria-current="page">Acquisition' in empty.text
    assert 'id="no-campaigns"' in empty.text

    form = {
        "name": "Spring poster",
        "channel": "outdoor",
        "source": "poster",
        "cost": "450",
        "currency": "USD",
        "starts_on": "2026-03-01",
        "ends_on": "2026-04-30",
    }
    # Without the session's CSRF token nothing is saved.
    forged = client.post(f"{PAGE}/campaigns", data=form, headers=HTML, follow_redirects=False)
    assert forged.status_code == 403
    assert "csrf_failed" in forged.text
    saved = client.post(
        f"{PAGE}/campaigns", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"{PAGE}?done=campaign")
    listed = client.get(saved.headers["location"]).text
    assert "Campaign saved" in listed
    assert "Spring poster" in listed
    assert "utm_campaign=spring-poster" in listed
    campaign_id = re.search(r'id="campaign-([0-9a-f-]{36})"', listed)
    assert campaign_id
    cid = campaign_id.group(1)

    # A bad destination is shown beside its field, and nothing is added.
    bad = client.post(
        f"{PAGE}/campaigns/{cid}/links",
        data={"destination": "javascript:alert(1)", "csrf_token": csrf},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert 'id="destination-error"' in bad.text
    assert "only http:// and https://" in bad.text
    assert 'value="javascript:alert(1)"' in bad.text
    dup = client.post(f"{PAGE}/campaigns", data={**form, "csrf_token": csrf}, headers=HTML)
    assert dup.status_code == 409
    assert 'id="name-error"' in dup.text

    added = client.post(
        f"{PAGE}/campaigns/{cid}/links",
        data={
            "destination": "https://shop.example/spring",
            "label": "Bus stops",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    shown = client.get(f"{PAGE}?done=link").text
    code = re.search(r'id="link-([A-Za-z0-9_-]+)"', shown)
    assert code
    link_id = re.search(r"/analytics/acquisition/links/([0-9a-f-]{36})/qr\.svg", shown)
    assert link_id
    assert "Bus stops" in shown

    svg = client.get(f"{PAGE}/links/{link_id.group(1)}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert f"/l/{code.group(1)}".encode() in svg.content
    png = client.get(f"{PAGE}/links/{link_id.group(1)}/qr.png")
    assert png.content.startswith(b"\x89PNG")
    assert client.get(f"{PAGE}/links/{link_id.group(1)}/qr.gif", headers=HTML).status_code == 404

    # A click counts on the page.
    assert client.get(f"/l/{code.group(1)}", follow_redirects=False).status_code == 302
    after = client.get(PAGE).text
    row = re.search(rf'id="link-{code.group(1)}".*?</tr>', after, re.S)
    assert row
    assert re.search(r'class="num clicks">1<', row.group(0))

    # The charts' data, from the page's own route.
    csv = client.get(f"{PAGE}?export=revenue-cost&format=csv")
    assert csv.status_code == 200
    assert "Spring poster" in csv.text
    assert client.get(f"{PAGE}?export=acquired-by-channel&format=svg").status_code == 200

    deleted = client.post(
        f"{PAGE}/links/{link_id.group(1)}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    gone = client.post(
        f"{PAGE}/campaigns/{cid}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert "Spring poster" not in client.get(PAGE).text
    rebuilt = client.post(f"{PAGE}/rebuild", data={"csrf_token": csrf}, follow_redirects=False)
    assert rebuilt.headers["location"] == f"{PAGE}?done=rebuilding"


def test_another_workspace_is_out_of_reach(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    theirs = client.post(
        "/api/v1/campaigns", json={"name": "Theirs"}, headers=bearer(other_workspace.api_token)
    ).json()
    link = client.post(
        f"/api/v1/campaigns/{theirs['id']}/links",
        json={"destination": "https://globex.example/"},
        headers=bearer(other_workspace.api_token),
    ).json()
    add_user(session, workspace, ANALYST, role="analyst")
    csrf = console_login(client, ANALYST)
    assert "Theirs" not in client.get(PAGE).text
    assert client.get(f"{PAGE}/links/{link['id']}/qr.svg", headers=HTML).status_code == 404
    r = client.post(
        f"{PAGE}/campaigns/{theirs['id']}/links",
        data={"destination": "https://acme.example/", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 404
    r = client.post(
        f"{PAGE}/campaigns/{uuid.uuid4()}/delete", data={"csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 404


def test_the_customer_360_shows_where_they_came_from(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send(
        "page",
        anonymousId="v-9",
        timestamp="2026-01-05T09:00:00Z",
        context={"page": {"url": "https://shop.example/", "referrer": "https://www.google.com/"}},
    )
    api.send(
        "page",
        anonymousId="v-9",
        timestamp="2026-01-09T09:00:00Z",
        context={
            "page": {"url": "https://shop.example/"},
            "campaign": {"source": "newsletter", "medium": "email", "name": "january"},
        },
    )
    api.send("identify", anonymousId="v-9", userId="noa", traits={"email": "noa@example.com"})
    api.send(
        "track", userId="noa", event="Order Completed", properties={"order_id": "N-1", "total": 30}
    )
    noa = api.profile(email="noa@example.com")["id"]
    add_user(session, workspace, ANALYST, role="analyst")
    console_login(client, ANALYST)
    page = client.get(f"/customers/{noa}").text
    card = re.search(r'<section class="card" id="customer-acquisition">.*?</section>', page, re.S)
    assert card
    first = re.search(r'id="first-touch".*?</tr>', card.group(0), re.S)
    last = re.search(r'id="last-touch".*?</tr>', card.group(0), re.S)
    assert first
    assert last
    assert "Organic search" in first.group(0)
    assert "google" in first.group(0)
    assert "Last touch before the first order" in last.group(0)
    assert "january" in last.group(0)
    # An agent reads no analytics: no card.
    add_user(session, workspace, AGENT, role="agent")
    client.cookies.clear()
    console_login(client, AGENT)
    assert 'id="customer-acquisition"' not in client.get(f"/customers/{noa}").text
