"""Articles' images and files, on both databases: added through the API or the editor,
checked (the bytes must be what the name says; 10 MB at most), served from the help
center at an address that never changes (an agents-only article's only to its agents),
shown where the article's Markdown puts them, and out of reach of other workspaces."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter import assets
from tests.helpers import add_user, bearer, console_login

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5ec0b1b0000000049454e44ae426082"
)
AGENT = "agent@acme-support.com"


def _article(client: TestClient, ws: ProvisionedWorkspace, **extra: Any) -> str:
    r = client.post(
        "/api/v1/help/articles",
        headers=bearer(ws.api_token),
        json={"title": "Pitching the tent", "body": "Start with the poles.", **extra},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _upload(
    client: TestClient, ws: ProvisionedWorkspace, article: str, name: str, data: bytes, kind: str
) -> Any:
    return client.post(
        f"/api/v1/help/articles/{article}/assets",
        headers=bearer(ws.api_token),
        files={"file": (name, data, kind)},
    )


def test_an_image_goes_into_an_article_and_the_help_center_serves_it(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    article = _article(client, workspace)
    r = _upload(client, workspace, article, "Pole clips (step 1).png", PNG, "image/png")
    assert r.status_code == 201, r.text
    asset = r.json()
    assert asset["filename"] == "Pole-clips-step-1-.png"
    assert asset["content_type"] == "image/png"
    assert asset["size"] == len(PNG)
    url = asset["url"]
    assert url == f"/help/{workspace.workspace.slug}/assets/{asset['id']}/Pole-clips-step-1-.png"
    assert asset["markdown"] == f"![Pole clips step 1 ]({url})"
    listed = client.get(
        f"/api/v1/help/articles/{article}/assets", headers=bearer(workspace.api_token)
    )
    assert [a["id"] for a in listed.json()["data"]] == [asset["id"]]

    served = client.get(url)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["x-content-type-options"] == "nosniff"
    # In the text, the image shows on the article's page once published.
    r = client.put(
        f"/api/v1/help/articles/{article}/translations/en",
        headers=bearer(workspace.api_token),
        json={
            "title": "Pitching the tent",
            "body": f"Clip the poles:\n\n{asset['markdown']}",
            "expected_version": 1,
        },
    )
    assert r.status_code == 200, r.text
    client.post(
        f"/api/v1/help/articles/{article}/translations/en/status",
        headers=bearer(workspace.api_token),
        json={"status": "published"},
    )
    page = client.get(f"/help/{workspace.workspace.slug}/articles/pitching-the-tent")
    assert re.search(
        rf'<img src="{re.escape(url)}" alt="Pole clips step 1 " loading="lazy"', page.text
    )

    gone = client.delete(f"/api/v1/help/assets/{asset['id']}", headers=bearer(workspace.api_token))
    assert gone.status_code == 204
    assert client.get(url).status_code == 404


def test_files_are_checked_before_they_are_kept(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    article = _article(client, workspace)
    for name, data, kind in (
        ("photo.png", b"<script>alert(1)</script>", "image/png"),  # not the image it says
        ("setup.exe", b"MZ\x90\x00", "application/octet-stream"),
        ("notes.txt", b"\xff\xfe\x00bad", "text/plain"),
        ("empty.png", b"", "image/png"),
    ):
        r = _upload(client, workspace, article, name, data, kind)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["field"] == "file"
    big = _upload(
        client, workspace, article, "big.pdf", b"%PDF-" + b"0" * assets.MAX_BYTES, "application/pdf"
    )
    assert big.status_code == 413
    ok = _upload(client, workspace, article, "size chart.pdf", b"%PDF-1.7\n...", "application/pdf")
    assert ok.status_code == 201
    served = client.get(ok.json()["url"])
    assert served.headers["content-disposition"] == 'attachment; filename="size-chart.pdf"'
    assert "sandbox" in served.headers["content-security-policy"]


def test_an_agents_only_articles_files_and_other_workspaces(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    internal = _article(client, workspace, visibility="internal")
    url = _upload(client, workspace, internal, "escalation.png", PNG, "image/png").json()["url"]
    assert client.get(url).status_code == 404  # readers of the help center
    add_user(session, workspace, AGENT, "agent")
    session.commit()
    console_login(client, AGENT)
    assert client.get(url).status_code == 200  # the workspace's agent
    assert "private" in client.get(url).headers["cache-control"]
    client.cookies.clear()
    # Another workspace: not its article, not its file, not under its help center.
    other = bearer(other_workspace.api_token)
    assert _upload(client, other_workspace, internal, "x.png", PNG, "image/png").status_code == 404
    assert client.get(f"/api/v1/help/articles/{internal}/assets", headers=other).status_code == 404
    asset_id = url.split("/")[4]
    assert client.delete(f"/api/v1/help/assets/{asset_id}", headers=other).status_code == 404
    assert (
        client.get(
            url.replace(workspace.workspace.slug, other_workspace.workspace.slug)
        ).status_code
        == 404
    )


def test_the_editor_uploads_lists_and_removes_files(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    article = _article(client, workspace)
    add_user(session, workspace, AGENT, "agent")
    session.commit()
    csrf = console_login(client, AGENT)
    r = client.post(
        f"/knowledge/{article}/assets",
        data={"csrf_token": csrf, "lang": "en"},
        files={"file": ("guy lines.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "File added" in page.text
    assert "guy-lines.png" in page.text
    assert 'class="secondary small kb-insert-file" data-markdown="![guy lines](' in page.text
    refused = client.post(
        f"/knowledge/{article}/assets",
        data={"csrf_token": csrf, "lang": "en"},
        files={"file": ("fake.gif", b"not a gif", "image/gif")},
    )
    assert "The file was not added" in refused.text
    asset_id = re.search(r'id="file-([0-9a-f-]+)"', page.text).group(1)  # type: ignore[union-attr]
    removed = client.post(
        f"/knowledge/assets/{asset_id}/delete",
        data={"csrf_token": csrf, "article_id": article, "lang": "en"},
    )
    assert "File removed" in removed.text
    assert "guy-lines.png" not in removed.text
