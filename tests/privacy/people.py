"""A person built the way they come to exist: tracking calls with several identifiers and
traits, a second and a third profile merged into the first, an order, an email
conversation with an agent's note, a verified chat with a file and its transcript, consent
with its evidence, someone reading their profile, a match candidate and the matching
model's term frequencies naming them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.chat import identity
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.consent import service as consent
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.match import names
from accord.match.models import MatchCandidate, MatchRun
from accord.profile.models import Profile
from accord.resolve.models import Identifier
from tests.chat.test_chat import socket_url, start, until
from tests.helpers import bearer

LETTERS = str.maketrans("0123456789", "ghijklmnop")


@dataclass
class Person:
    tag: str
    first: str
    last: str
    email: str
    email2: str
    phone: str  # E.164
    phone_typed: str
    user_id: str
    anon: str
    anon2: str
    anon3: str
    loyalty: str
    order_id: str
    texts: list[str] = field(default_factory=list)  # what they wrote and was written
    profile_id: uuid.UUID | None = None
    conversation_id: str | None = None
    attachment: bytes = b""

    @property
    def needles(self) -> list[str]:
        """Everything that names them: no table or file may hold any of it once erased."""
        return [
            self.email,
            self.email2,
            self.phone,
            self.phone_typed,
            self.user_id,
            self.anon,
            self.anon2,
            self.anon3,
            self.loyalty,
            self.first,
            self.last,
            *self.texts,
        ]


def new_person() -> Person:
    tag = uuid.uuid4().hex[:10]
    letters = tag.translate(LETTERS)
    digits = f"{int(tag, 16) % 10000:04d}"
    return Person(
        tag=tag,
        first=f"Zeb{letters[:6]}",
        last=f"Quill{letters[4:]}",
        email=f"zeb.{tag}@example.org",
        email2=f"zq.{tag}@mail.example.net",
        phone=f"+1415555{digits}",
        phone_typed=f"(415) 555-{digits}",
        user_id=f"user-{tag}",
        anon=f"anon-{tag}",
        anon2=f"anon2-{tag}",
        anon3=f"anon3-{tag}",
        loyalty=f"LC{tag.upper()}",
        order_id=f"O-{tag}",
    )


def send(client: TestClient, ws: ProvisionedWorkspace, kind: str, body: dict[str, Any]) -> None:
    r = client.post(f"/v1/{kind}", json=body, auth=(ws.write_key, ""))
    assert r.status_code == 200, r.text


def track_person(client: TestClient, ws: ProvisionedWorkspace, p: Person) -> None:
    """Their tracking calls: three profiles that become one."""
    send(
        client,
        ws,
        "identify",
        {
            "userId": p.user_id,
            "anonymousId": p.anon,
            "traits": {
                "firstName": p.first,
                "lastName": p.last,
                "email": p.email,
                "phone": p.phone_typed,
            },
            "context": {"ip": "203.0.113.7", "userAgent": f"Browser {p.tag}"},
        },
    )
    # Browsing in another browser before signing in there: a second, anonymous profile...
    send(
        client,
        ws,
        "page",
        {"anonymousId": p.anon2, "name": "Tents", "properties": {"url": f"/tents?ref={p.tag}"}},
    )
    # ... merged into theirs when they sign in.
    send(client, ws, "identify", {"userId": p.user_id, "anonymousId": p.anon2})
    # A third profile, from the loyalty desk, merged when their account names its email.
    send(
        client,
        ws,
        "identify",
        {"anonymousId": p.anon3, "traits": {"email": p.email2, "loyaltyCard": p.loyalty}},
    )
    send(
        client,
        ws,
        "track",
        {
            "userId": p.user_id,
            "event": "Newsletter Joined",
            "context": {"traits": {"email": p.email2}},
        },
    )
    send(
        client,
        ws,
        "track",
        {
            "userId": p.user_id,
            "event": "Order Completed",
            "properties": {
                "order_id": p.order_id,
                "total": 129.5,
                "currency": "EUR",
                "products": [
                    {
                        "sku": "TENT-2",
                        "name": f"Tent engraved for {p.last}",
                        "price": 129.5,
                        "quantity": 1,
                    }
                ],
            },
        },
    )
    for n in range(3):
        send(
            client,
            ws,
            "track",
            {"userId": p.user_id, "event": "Product Viewed", "properties": {"n": n}},
        )


def converse(client: TestClient, ws: ProvisionedWorkspace, p: Person) -> None:
    """An email about a parcel, an agent's note, then a verified chat that continues the
    conversation, with a file and the transcript sent to their address."""
    auth = bearer(ws.api_token)
    parcel, note, chat, filed = (f"{p.tag}-{w}" for w in ("parcel", "note", "chat", "file"))
    p.texts += [parcel, note, chat, filed]
    r = client.post(
        "/api/v1/messages",
        headers=auth,
        json={
            "channel": "email",
            "contact": {"email": p.email, "name": f"{p.first} {p.last}"},
            "subject": "Where is my parcel?",
            "body": f"My parcel never came. Reference {parcel}.",
        },
    )
    assert r.status_code == 201, r.text
    p.conversation_id = r.json()["conversation"]["id"]
    r = client.post(
        f"/api/v1/conversations/{p.conversation_id}/notes",
        headers=auth,
        json={"body": f"Called them back on {p.phone}: {note}"},
    )
    assert r.status_code in (200, 201), r.text
    secret = client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    hello = start(client, ws, p.anon)
    form = {"writeKey": ws.write_key, "visitor": hello["visitor_id"], "token": hello["token"]}
    with client.websocket_connect(socket_url(ws, hello)) as sock:
        sock.receive_json()
        sock.send_json(
            {
                "type": "identify",
                "userId": p.user_id,
                "traits": {"email": p.email, "name": f"{p.first} {p.last}"},
                "userHash": identity.user_hash(secret, p.user_id),
                "emailHash": identity.user_hash(secret, p.email),
            }
        )
        assert until(sock, "identified")["verified"] is True
        sock.send_json({"type": "message", "body": f"Any news? {chat}", "client_id": "c1"})
        until(sock, "ack")
        p.attachment = f"Attachment text {filed}\n".encode()
        r = client.post(
            "/v1/chat/files",
            data=form,
            files={"file": (f"receipt-{p.last}.txt", p.attachment, "text/plain")},
        )
        assert r.status_code == 201, r.text
        sock.send_json({"type": "transcript", "email": p.email})
        until(sock, "transcript_sent")


def record_more(
    factory: sessionmaker[Session], client: TestClient, ws: ProvisionedWorkspace, p: Person
) -> None:
    """Consent with its evidence, a read of their profile, an audit event about them, a
    household candidate and the matching model's term frequencies."""
    workspace_id = ws.workspace.id
    with transaction(factory) as session:
        ident = session.scalars(
            select(Identifier).where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == "email",
                Identifier.value == p.email,
            )
        ).one()
        assert ident.profile_id is not None
        p.profile_id = ident.profile_id
        consent.record(
            session,
            workspace_id,
            p.profile_id,
            channel="email",
            purpose="marketing",
            status="granted",
            source="form",
            ip="203.0.113.7",
            user_agent=f"Browser {p.tag}",
            evidence={"form": f"signup of {p.email}"},
        )
        audit.record(
            session,
            Principal.cli(workspace_id),
            "test.about_them",
            target=str(p.profile_id),
            data={"email": p.email},
        )
        other = Profile(workspace_id=workspace_id, traits={}, stats={}, display_name="Another")
        session.add(other)
        session.flush()
        session.add(
            MatchCandidate(
                workspace_id=workspace_id,
                kind="household",
                status="linked",
                profile_a_id=p.profile_id,
                profile_b_id=other.id,
                match_probability=0.7,
                match_weight=1.2,
                evidence={"last_name": {"a": p.last, "b": p.last}},
            )
        )
        session.add(
            MatchRun(
                workspace_id=workspace_id,
                trigger="test",
                status="done",
                report={"tf": {"last_name": {names.clean_name(p.last): 0.01, "": 0.001}}},
            )
        )
    r = client.get(f"/api/v1/profiles/{p.profile_id}", headers=bearer(ws.api_token))
    assert r.status_code == 200, r.text


def build(factory: sessionmaker[Session], client: TestClient, ws: ProvisionedWorkspace) -> Person:
    p = new_person()
    track_person(client, ws, p)
    converse(client, ws, p)
    record_more(factory, client, ws, p)
    return p
