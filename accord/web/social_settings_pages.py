"""Settings > Social (admins only): what the workspace listens for and how it triages.

One form writes the settings group ``listening`` through ``accord.social.settings
.LISTENING`` with the version it read: the brand's names, products, handles and
hashtags, the competitors and the terms that name each, languages, exclusions, who
counts as an influencer or a valuable customer, how much engagement turns a wait into
respond, the SLA minutes by priority and the alerts of a brewing crisis. A refused value
is shown beside its field, with what was typed. The workspace's own triage rules
(written through the API) are listed and kept as they are.

The same page lists the sources listened on and the form that adds one; those actions
live in ``social_sources_pages.py``, which renders this page through :func:`render`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from accord.govern.workspaces.service import get_workspace
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError
from accord.social import queries
from accord.social.models import SocialSource
from accord.social.settings import LISTENING, ListeningSettings
from accord.web.auth import Console, ConsoleAdmin
from accord.web.forms import form_error
from accord.web.pages import page
from accord.web.social_cards import compact, network_label, stamp

router = APIRouter(prefix="/social", include_in_schema=False)  # under /settings

TERM_FIELDS = ("brands", "products", "handles", "hashtags", "exclusions")
NUMBER_FIELDS = ("influencer_followers", "valuable_customer", "engagement_growth")
PRIORITIES = ("urgent", "high", "normal", "low")
ALERT_NUMBERS = ("window_minutes", "spike_factor", "min_mentions")
BLANK_COMPETITORS = 2  # empty rows under the competitors, to add one
MAX_COMPETITORS = 50
KINDS = (
    ("bluesky", "Bluesky"),
    ("mastodon", "Mastodon"),
    ("reddit", "Reddit"),
    ("rss", "RSS or Atom feed"),
    ("webhook", "Webhook (another listening tool)"),
    ("import", "Import (CSV or JSON Lines files)"),
)
STATUS_WORDS = {
    "ok": "ok",
    "backing_off": "backing off",
    "failing": "failing",
    "paused": "paused",
}


# --- the rules form ----------------------------------------------------------------------------


@dataclass
class Draft:
    """What the rules form shows: the stored settings, or what a refused form held (as
    typed). ``errors`` are by field name as the form names them."""

    values: dict[str, str]
    competitors: list[tuple[str, str]]
    alerts_enabled: bool
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: ListeningSettings) -> Draft:
        values = {name: "\n".join(getattr(value, name)) for name in TERM_FIELDS}
        values["languages"] = ", ".join(value.languages)
        values["currency"] = value.currency
        values["influencer_followers"] = str(value.influencer_followers)
        values["valuable_customer"] = f"{value.valuable_customer:g}"
        values["engagement_growth"] = str(value.engagement_growth)
        for p in PRIORITIES:
            values[f"sla.{p}"] = str(value.sla.minutes(p))
        a = value.alerts
        values["alerts.window_minutes"] = str(a.window_minutes)
        values["alerts.spike_factor"] = f"{a.spike_factor:g}"
        values["alerts.negative_share"] = f"{a.negative_share * 100:g}"
        values["alerts.min_mentions"] = str(a.min_mentions)
        values["alerts.emails"] = ", ".join(a.emails)
        rows = [(c.name, ", ".join(c.terms)) for c in value.competitors]
        return cls(values, rows + [("", "")] * BLANK_COMPETITORS, a.enabled)

    @classmethod
    def posted(cls, form: FormData) -> Draft:
        names = [*TERM_FIELDS, "languages", "currency", *NUMBER_FIELDS]
        names += [f"sla.{p}" for p in PRIORITIES]
        names += [f"alerts.{n}" for n in (*ALERT_NUMBERS, "negative_share", "emails")]
        values = {name: _text(form, name) for name in names}
        rows = []
        for i in range(MAX_COMPETITORS):
            name, terms = (
                _text(form, f"competitors.{i}.name"),
                _text(form, f"competitors.{i}.terms"),
            )
            if name or terms:
                rows.append((name, terms))
        return cls(
            values, rows + [("", "")] * BLANK_COMPETITORS, bool(_text(form, "alerts.enabled"))
        )

    def setting(self, kept: ListeningSettings) -> tuple[dict[str, Any], dict[str, str]]:
        """The settings to validate (the workspace's own triage rules kept as stored),
        and the errors found before: a share that is not a percentage."""
        v = self.values
        errors: dict[str, str] = {}
        share: Any = _number(v["alerts.negative_share"])
        try:
            percent = float(share)
        except ValueError:
            errors["alerts.negative_share"] = "Enter a percentage, such as 50"
            percent = kept.alerts.negative_share * 100
        if not 0 < percent <= 100:
            errors["alerts.negative_share"] = "A percentage above 0, at most 100"
            percent = kept.alerts.negative_share * 100
        raw: dict[str, Any] = {name: _lines(v[name]) for name in TERM_FIELDS}
        raw["languages"] = _words(v["languages"])
        raw["currency"] = v["currency"]
        raw.update({name: _number(v[name]) for name in NUMBER_FIELDS})
        raw["competitors"] = [
            {"name": name, "terms": _words(terms, commas_only=True)}
            for name, terms in self.competitors
            if name or terms
        ]
        raw["sla"] = {p: _number(v[f"sla.{p}"]) for p in PRIORITIES}
        raw["alerts"] = {
            "enabled": self.alerts_enabled,
            **{n: _number(v[f"alerts.{n}"]) for n in ALERT_NUMBERS},
            "negative_share": percent / 100,
            "emails": _words(v["alerts.emails"]),
        }
        raw["rules"] = [r.model_dump(mode="json") for r in kept.rules]
        return raw, errors


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(text: str, *, commas_only: bool = False) -> list[str]:
    parts = re.split(r"[,\n]" if commas_only else r"[,\s]+", text)
    return [p.strip() for p in parts if p.strip()]


def _number(text: str) -> str:
    """A number as typed, its thousands separators and spaces dropped ("10,000")."""
    return re.sub(r"[,_\s]", "", text)


def _message(text: str) -> str:
    text = text.removeprefix("Value error, ")
    return text[:1].upper() + text[1:]


def errors_of(error: AccordError, known: set[str]) -> dict[str, str]:
    """Each refused field's message by the field it is shown beside (``form``: above)."""
    if error.code == "settings_version_conflict":
        return {"form": error.message}
    pairs = [(e.field, e.message) for e in error.errors] or [(error.field or "", error.message)]
    out: dict[str, str] = {}
    for name, message in pairs:
        key = name if name in known else "form"
        if key == "form" and name.startswith("competitors"):
            key = "competitors"
        out.setdefault(key, _message(message))
    return out


def _known_fields(draft: Draft) -> set[str]:
    names = {*draft.values, "competitors"}
    for i in range(len(draft.competitors)):
        names |= {f"competitors.{i}.name", f"competitors.{i}.terms"}
    return names


# --- the sources list --------------------------------------------------------------------------


@dataclass
class SourceRow:
    """A source as the list shows it: never its credentials, only whether it has some."""

    s: SocialSource
    kind: str
    status: str
    heard: str
    last_fetched: str
    next_fetch: str
    summary: list[tuple[str, str]]
    webhook_url: str | None


def webhook_url(request: Request, source: SocialSource) -> str:
    """Where another listening tool posts (the deployment's address)."""
    base = str(request.app.state.settings.base_url).rstrip("/")
    return f"{base}/v1/social/{source.workspace_id}/webhook/{source.id}"


def _summary(source: SocialSource) -> list[tuple[str, str]]:
    labels = {
        "mode": "Mode",
        "handle": "Account",
        "instance": "Instance",
        "hashtags": "Hashtags",
        "keywords": "Keywords",
        "subreddits": "Subreddits",
        "url": "Feed",
        "network": "Network",
    }
    out = []
    for key, label in labels.items():
        value = (source.options or {}).get(key)
        if value:
            out.append((label, ", ".join(value) if isinstance(value, list) else str(value)))
    return out


def source_rows(request: Request, sources: list[SocialSource]) -> list[SourceRow]:
    kinds = dict(KINDS)
    return [
        SourceRow(
            s=s,
            kind=kinds.get(s.kind, s.kind).split(" (")[0],
            status=STATUS_WORDS.get(s.status, s.status) if s.enabled else "off",
            heard=compact(s.heard),
            last_fetched=stamp(s.last_fetched_at),
            next_fetch=stamp(s.next_fetch_at),
            summary=_summary(s),
            webhook_url=webhook_url(request, s) if s.kind == "webhook" else None,
        )
        for s in sources
    ]


# --- the page ----------------------------------------------------------------------------------


def render(
    request: Request,
    session: DbSession,
    console: Console,
    *,
    draft: Draft | None = None,
    version: int | None = None,
    error: AccordError | None = None,
    saved: bool = False,
    source_form: dict[str, Any] | None = None,
    created: dict[str, Any] | None = None,
    notice: str | None = None,
    imported: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Settings > Social: the rules form (``draft``: as refused) and the sources, with
    what an action on them just did (``created``: a new webhook's secret, shown once;
    ``imported``: what an import stored and the rows it refused)."""
    workspace = get_workspace(session, console.principal.workspace_id)
    value = LISTENING.read(workspace)
    draft = draft or Draft.of(value)
    return page(
        request,
        session,
        console,
        "social/settings.html",
        "settings",
        status_code=error.status if error else 200,
        tab="social",
        draft=draft,
        version=LISTENING.version(workspace) if version is None else version,
        saved=saved,
        form_error=draft.errors.get("form"),
        rules=value.rules,
        priorities=PRIORITIES,
        sources=source_rows(request, queries.sources(session, workspace.id)),
        kinds=KINDS,
        source_form=source_form or {"kind": "bluesky", "values": {}, "errors": {}},
        created=created,
        notice=notice,
        imported=imported,
        network_label=network_label,
    )


@router.get("")
def social_settings(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    saved: str | None = None,
    added: str | None = None,
    removed: str | None = None,
) -> HTMLResponse:
    notice = None
    if added:
        notice = f"Source “{added[:120]}” added: it is fetched in a moment."
    elif removed:
        notice = f"Source “{removed[:120]}” removed; the mentions it heard stay."
    return render(request, session, console, saved=bool(saved), notice=notice)


@router.post("")
def save_social(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    """Save the listening rules with the version the form read; a refused value is shown
    beside its field, and nothing is saved."""
    draft = Draft.posted(form)
    raw_version = _text(form, "version")
    expected = int(raw_version) if raw_version.isdigit() and len(raw_version) < 10 else None
    workspace = get_workspace(session, console.principal.workspace_id)
    raw, early = draft.setting(LISTENING.read(workspace))
    try:
        try:
            value = ListeningSettings.model_validate(raw)
        except ValidationError as exc:
            raise form_error(exc) from exc
        if early:
            name, message = next(iter(early.items()))
            raise AccordError(message, code="validation_error", status=422, field=name)
        with session.begin_nested():
            LISTENING.write(
                session, workspace, value, actor=console.principal, expected_version=expected
            )
    except AccordError as error:
        draft.errors = {**early, **errors_of(error, _known_fields(draft))}
        return render(request, session, console, draft=draft, version=expected or 0, error=error)
    return RedirectResponse("/settings/social?saved=1", status_code=303)
