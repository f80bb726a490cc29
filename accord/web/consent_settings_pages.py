"""Settings > Consent: double opt-in, the privacy notice's version, which purposes need an
opt-in in which region (and the default elsewhere), how Segment's consent categories map
to channels and purposes, and what becomes of an event carrying a suppressed identifier.
One form writes the settings group ``consent`` through its owner, with the version it
read; a refused value is shown beside its field, with what was typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from accord.govern.consent import rules
from accord.govern.consent import settings as consent_settings
from accord.govern.consent.schemas import ConsentSettings
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError, invalid
from accord.web.auth import ConsoleAdmin
from accord.web.pages import page

router = APIRouter(prefix="/settings", include_in_schema=False)

# The purposes a region's rule is about (service messages never need an opt-in).
RULED = tuple(p for p in rules.PURPOSES if p != "service")
DOUBLE_OPT_IN = {
    "never": "Never: a grant counts at once",
    "opt_in_regions": "In opt-in regions: where marketing needs consent first",
    "always": "Always, in every region",
}
SUPPRESSED = {
    "drop": "Drop it: the event is not stored",
    "quarantine": "Quarantine it: stored apart, never resolved onto anyone",
}
# The form's sections, where a field's error is shown.
SECTIONS = ("double_opt_in", "notice_version", "regions", "default", "categories")


@dataclass
class Draft:
    """What the form shows: the stored settings, or what a refused form held."""

    double_opt_in: str
    notice_version: str
    regions: list[tuple[str, dict[str, str]]]
    default: dict[str, str]
    categories: str
    suppressed_events: str
    extra_rows: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: ConsentSettings) -> Draft:
        return cls(
            double_opt_in=value.double_opt_in,
            notice_version=value.notice_version,
            regions=[(code, dict(modes)) for code, modes in sorted(value.regions.items())],
            default=dict(value.default),
            categories="\n".join(
                f"{name} = {', '.join(pairs)}" for name, pairs in value.categories.items()
            ),
            suppressed_events=value.suppressed_events,
        )


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _draft(form: FormData) -> Draft:
    regions: list[tuple[str, dict[str, str]]] = []
    blank = 0
    i = 0
    while f"r{i}-code" in form:
        code = _text(form, f"r{i}-code").upper()
        if not code:
            blank += 1
        elif not _text(form, f"r{i}-remove"):
            regions.append((code, {p: _text(form, f"r{i}-{p}") for p in RULED}))
        i += 1
    return Draft(
        extra_rows=blank,
        double_opt_in=_text(form, "double_opt_in"),
        notice_version=_text(form, "notice_version"),
        regions=regions,
        default={p: _text(form, f"d-{p}") for p in RULED},
        categories=str(form.get("categories") or ""),
        suppressed_events=_text(form, "suppressed_events"),
    )


def _categories(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, pairs = line.partition("=")
        if not sep or not name.strip():
            raise invalid(
                f"line {n}: write it as category = channel.purpose, e.g. "
                "marketing = email.marketing, sms.marketing",
                field="categories",
            )
        out[name.strip().lower()] = [p.strip() for p in pairs.split(",") if p.strip()]
    return out


def _raw(draft: Draft) -> dict[str, Any]:
    """The settings a form asks for, as the group validates them."""
    regions: dict[str, dict[str, str]] = {}
    for code, modes in draft.regions:
        if code in regions:
            raise invalid(f"Region {code} is listed twice", field="regions")
        regions[code] = {p: m for p, m in modes.items() if m}
    return {
        "double_opt_in": draft.double_opt_in,
        "notice_version": draft.notice_version,
        "regions": regions,
        "default": {p: m for p, m in draft.default.items() if m},
        "categories": _categories(draft.categories),
        "suppressed_events": draft.suppressed_events,
    }


def _errors(error: AccordError) -> dict[str, str]:
    """Each refused field's message, by the section of the form it belongs to."""
    found = error.errors or []
    pairs = [(e.field, e.message) for e in found] or [(error.field or "", error.message)]
    out: dict[str, str] = {}
    for name, message in pairs:
        section = (name or "").split(".")[0].split("[")[0]
        out.setdefault(section if section in SECTIONS else "form", message)
    return out


def _render(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    draft: Draft,
    version: int,
    *,
    error: AccordError | None = None,
    saved: bool = False,
) -> HTMLResponse:
    return page(
        request,
        session,
        console,
        "settings/consent.html",
        "settings",
        status_code=error.status if error else 200,
        tab="consent",
        draft=draft,
        version=version,
        saved=saved,
        form_error=draft.errors.get("form"),
        purposes=RULED,
        double_opt_in_choices=DOUBLE_OPT_IN,
        suppressed_choices=SUPPRESSED,
    )


@router.get("/consent")
def consent_page(
    request: Request, session: DbSession, console: ConsoleAdmin, saved: str | None = None
) -> HTMLResponse:
    value, version = consent_settings.with_version(session, console.principal.workspace_id)
    return _render(request, session, console, Draft.of(value), version, saved=bool(saved))


@router.post("/consent")
def save_consent(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    draft = _draft(form)
    raw_version = _text(form, "version")
    expected = int(raw_version) if raw_version.isdigit() else None
    if _text(form, "action") == "add_row":
        # Another empty region row, without saving (the page works without script).
        draft.extra_rows += 1
        return _render(request, session, console, draft, expected or 0)
    try:
        with session.begin_nested():
            consent_settings.save(
                session,
                console.principal.workspace_id,
                _raw(draft),
                actor=console.principal,
                expected_version=expected,
            )
    except AccordError as error:
        draft.errors = _errors(error)
        if error.code == "settings_version_conflict":
            draft.errors = {"form": error.message}
        return _render(request, session, console, draft, expected or 0, error=error)
    return RedirectResponse("/settings/consent?saved=1", status_code=303)
