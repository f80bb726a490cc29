"""The sources a workspace listens on: created, changed and removed here only, with their
credentials encrypted (never returned, never audited), and health recorded after each
fetch: a rate limit or a transient failure backs off (the network's ``retry_after`` when
it gave one, else doubling from a minute up to an hour); a permanent one (bad
credentials, an unknown feed) stops the source until a person fixes it."""

from __future__ import annotations

import ipaddress
import json
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.security import decrypt, encrypt, random_token
from accord.kit.time import utcnow
from accord.social.models import SocialSource
from accord.social.repository import SourceRepository
from accord.social.schemas import URL_FIELDS, SettingError, SourceIn, SourcePatch
from accord.social.sources.base import SourceConfig, SourceError

PURPOSE = "social-source"  # what the credentials' encryption key is derived for
MAX_BACKOFF = timedelta(hours=1)
POLLED = ("bluesky", "mastodon", "reddit", "rss")  # fetched on a schedule
PUSHED = ("webhook", "import")  # posts arrive by a request


def config_of(source: SocialSource, secret_key: str) -> SourceConfig:
    """The source as its connector needs it (credentials decrypted)."""
    raw = (
        decrypt(secret_key, source.credentials_encrypted, PURPOSE)
        if source.credentials_encrypted
        else None
    )
    credentials = json.loads(raw) if raw else {}
    return SourceConfig(
        kind=source.kind, settings=dict(source.options or {}), credentials=credentials
    )


def checked_settings(body: SourceIn, *, private_hosts: bool = False) -> dict[str, Any]:
    """The source's options checked for its kind, and (unless the deployment allows it)
    every address in them public: no loopback, private, link-local or reserved host."""
    try:
        options = body.settings_for_kind()
    except SettingError as exc:
        raise invalid(f"{exc.field}: {exc}", field=exc.field) from exc
    if not private_hosts:
        for name in sorted(URL_FIELDS & set(options)):
            problem = internal(str(options[name]))
            if problem:
                raise invalid(f"settings.{name}: {problem}", field=f"settings.{name}")
    return options


def internal(url: str) -> str | None:
    """Why ``url`` may not be fetched (its host is or resolves to an internal address),
    or None."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # not resolvable now: the fetch will fail and say so
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            return f"{host} is an internal address ({address}); sources must be public"
    return None


def _credentials(secret_key: str, values: dict[str, str]) -> str | None:
    clean = {k: v for k, v in values.items() if v}
    return encrypt(secret_key, json.dumps(clean, sort_keys=True), PURPOSE) if clean else None


def create(
    session: Session,
    workspace: Workspace,
    body: SourceIn,
    *,
    actor: Principal,
    secret_key: str,
    private_hosts: bool = False,
) -> SocialSource:
    repo = SourceRepository.from_session(session)
    if repo.by_name(workspace.id, body.name) is not None:
        raise conflict(f"A source named {body.name!r} exists already", field="name", code="exists")
    credentials = dict(body.credentials)
    if body.kind == "webhook" and not credentials.get("secret"):
        credentials["secret"] = "whsec_" + random_token(24)  # what the tool signs with
    now = utcnow()
    source = SocialSource(
        id=uuid.uuid4(),
        workspace_id=workspace.id,
        kind=body.kind,
        name=body.name,
        options=checked_settings(body, private_hosts=private_hosts),
        credentials_encrypted=_credentials(secret_key, credentials),
        enabled=body.enabled,
        cursor={},
        status="ok",
        failures=0,
        heard=0,
        interval_seconds=body.interval_seconds,
        created_at=now,
        updated_at=now,
    )
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor,
        "social.source.create",
        target=str(source.id),
        data={"kind": source.kind, "name": source.name},
    )
    return source


def update(
    session: Session,
    workspace: Workspace,
    source: SocialSource,
    body: SourcePatch,
    *,
    actor: Principal,
    secret_key: str,
    private_hosts: bool = False,
) -> SocialSource:
    changed: list[str] = []
    if body.name is not None and body.name != source.name:
        other = SourceRepository.from_session(session).by_name(workspace.id, body.name)
        if other is not None:
            raise conflict(
                f"A source named {body.name!r} exists already", field="name", code="exists"
            )
        source.name = body.name
        changed.append("name")
    if body.settings is not None:
        source.options = checked_settings(
            SourceIn.model_validate(
                {"kind": source.kind, "name": source.name, "settings": body.settings}
            ),
            private_hosts=private_hosts,
        )
        changed.append("settings")
    if body.credentials is not None:
        current = config_of(source, secret_key).credentials
        source.credentials_encrypted = _credentials(secret_key, {**current, **body.credentials})
        changed.append("credentials")
    if body.enabled is not None and body.enabled != source.enabled:
        source.enabled = body.enabled
        changed.append("enabled")
    if body.interval_seconds is not None:
        source.interval_seconds = body.interval_seconds
        changed.append("interval_seconds")
    if changed:
        # A change may fix what failed: the source is tried again at once.
        source.status, source.last_error, source.failures = "ok", None, 0
        source.next_fetch_at = None
        source.updated_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "social.source.update",
            target=str(source.id),
            data={"changed": changed},
        )
    return source


def remove(
    session: Session, workspace: Workspace, source: SocialSource, *, actor: Principal
) -> None:
    """The source stops; the mentions it heard stay (they no longer name it)."""
    audit.record(
        session,
        actor,
        "social.source.delete",
        target=str(source.id),
        data={"kind": source.kind, "name": source.name},
    )
    session.delete(source)
    session.flush()


def get(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID) -> SocialSource:
    source = SourceRepository.from_session(session).get(workspace_id, source_id)
    if source is None:
        raise not_found("Source", field="source_id")
    return source


def webhook_secret(source: SocialSource, secret_key: str) -> str | None:
    return config_of(source, secret_key).credentials.get("secret")


def fetched(source: SocialSource, cursor: dict[str, Any], more: bool, now: datetime) -> None:
    """A fetch that worked: the new position saved, health back to ok."""
    source.cursor = cursor
    source.status, source.last_error, source.failures = "ok", None, 0
    source.last_fetched_at = now
    source.next_fetch_at = now if more else now + timedelta(seconds=source.interval_seconds)


def failed(source: SocialSource, error: SourceError, now: datetime) -> None:
    """A fetch that failed: back off, or stop for a person to fix it."""
    source.failures += 1
    source.last_error = error.message[:500]
    source.last_fetched_at = now
    if error.permanent:
        source.status = "failing"
        source.next_fetch_at = None
        return
    source.status = "backing_off"
    if error.retry_after is not None:
        wait = timedelta(seconds=max(1.0, error.retry_after))
    else:
        wait = timedelta(minutes=2 ** min(source.failures - 1, 6))
    source.next_fetch_at = now + min(wait, MAX_BACKOFF)


def check_kind(kind: str) -> None:
    if kind not in (*POLLED, *PUSHED):
        raise invalid(f"Unknown source kind {kind!r}", field="kind")
