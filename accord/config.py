"""The one typed settings object. Every setting is read from the environment with the
``ACCORD_`` prefix (or a ``.env`` file); nothing here touches the disk at import time."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ACCORD_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        default=Path(".accord"),
        description="Directory for the embedded database, the generated secret key and uploads.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file `accord.db` in the data directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL for fan-out and jobs across API workers (optional).",
    )
    jobs_broker: Literal["database", "redis"] = Field(
        default="database",
        description="Where background jobs wait (huey): `database` keeps them in the "
        "database Accord uses (PostgreSQL: its own tables there, woken by LISTEN/NOTIFY; "
        "SQLite: a file `jobs.sqlite3` beside it); `redis` in `ACCORD_REDIS_URL`.",
    )
    jobs_worker: bool = Field(
        default=True,
        description="Run the job engine's consumer (segment evaluation, timers, schedules, "
        "deliveries): under `accord serve` in a process of its own (see "
        "`ACCORD_JOBS_PROCESS`), else threads in each API process. Turn it off where "
        "`accord worker jobs` runs on machines of its own.",
    )
    jobs_process: bool = Field(
        default=True,
        description="`accord serve` runs the job consumer as a process of its own beside "
        "its API workers (which then only enqueue), so that jobs never share an API "
        "worker's interpreter lock with requests.",
    )
    jobs_threads: int = Field(
        default=4, ge=1, le=64, description="Worker threads of a job consumer."
    )
    jobs_nice: int = Field(
        default=15,
        ge=0,
        le=19,
        description="How much the job consumer's process yields the CPU (Unix nice value, 0 "
        "to 19): by default more than the resolver (`ACCORD_RESOLVER_NICE`), so that what "
        "follows resolution (the acquisition touches, segments, journeys) waits for it, "
        "and a profile reflects an event as soon as the API and the resolver can make it "
        "so. An idle machine runs every job at once whatever the value.",
    )
    touches_follow_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long after the resolver's batch of events its people's acquisition "
        "touches are advanced (by a job). The batches committed meanwhile are advanced "
        "together, each person once: a longer wait costs less CPU under a steady stream, "
        "and the touches trail resolution by that much.",
    )
    outreach_senders: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Delivery jobs started for each campaign launched: each sends its own "
        "batches over its own SMTP sessions, so they add up (within the workspace's "
        "messages-per-second limit) and take one job thread each while the campaign sends.",
    )
    outreach_sessions: int = Field(
        default=4,
        ge=1,
        le=8,
        description="SMTP sessions each delivery job keeps open to the relay, driven by its "
        "one thread: while the relay answers one, the next message is rendered. Up to 8 (a "
        "crash leaves at most 24 messages plus this many of a batch in doubt).",
    )
    social_streams: bool = Field(
        default=True,
        description="Keeps a live connection open, in one API process at a time, for each "
        "social source that streams (Bluesky in Jetstream mode, a Mastodon source with "
        "streaming on), so its posts are heard within seconds.",
    )
    social_private_hosts: bool = Field(
        default=False,
        description="Lets social sources (feeds, Mastodon instances, Reddit and Bluesky "
        "services) be on loopback or private network addresses; off, a workspace admin "
        "cannot make the server fetch an internal address.",
    )
    rate_limit_scale: float = Field(
        default=1.0,
        ge=0,
        description="Multiplies the public endpoints' rate limits; 0 turns them off.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Keys the HMAC of the console's CSRF tokens. Generated and kept in the data "
        "directory on first run when not set; set it when several hosts share a database.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of the console, used in links the CLI prints and in "
        "links sent to customers (satisfaction surveys).",
    )
    session_days: int = Field(default=14, description="Lifetime of a console login session.")
    secure_cookies: bool = Field(
        default=False, description="Mark console cookies Secure (set when served over HTTPS)."
    )
    login_max_failures: int = Field(
        default=5,
        description="Failed logins of one email from one client address within the window "
        "before that address is throttled for that email.",
    )
    login_max_failures_per_ip: int = Field(
        default=30, description="Failed logins per client address within the window."
    )
    login_max_failures_per_account: int = Field(
        default=100,
        description="Failed logins of one email from any address within the window before "
        "the account is throttled (a guess spread over many addresses still stops).",
    )
    login_window_minutes: int = Field(default=15, description="Login throttling window.")
    smtp_url: str | None = Field(
        default=None,
        description="The relay Accord sends its own email through (password reset links): "
        "smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465 (TLS) or "
        "smtp://127.0.0.1:2525 (plain, on loopback). Unset: no email is sent.",
    )
    mail_from: str | None = Field(
        default=None,
        description="The From address of Accord's own email. Unset: no-reply@ the host of "
        "the base URL.",
    )
    db_pool_size: int = Field(default=10, description="Connection pool size (PostgreSQL).")
    log_level: str = Field(default="info", description="Log level of the server.")
    resolve_worker: bool = Field(
        default=True,
        description="Resolve accepted events onto profiles in the background, within "
        "moments: under `accord serve` in a process of its own (see "
        "`ACCORD_RESOLVE_PROCESS`), else a thread in the API process.",
    )
    resolve_process: bool = Field(
        default=True,
        description="`accord serve` runs the resolver as a process of its own, at a lower CPU "
        "priority, beside its API workers (which then run no resolver thread). A burst is "
        "accepted at full speed and resolution catches up with the CPU left.",
    )
    resolver_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much the resolver process yields the CPU to the API (Unix nice "
        "value, 0 to 19; 0 runs it at the same priority).",
    )
    resolve_poll_seconds: float = Field(
        default=0.05,
        gt=0,
        description="How often the resolver process looks for newly accepted events when "
        "it has nothing to do (one index probe a look).",
    )
    resolve_yield_above: int = Field(
        default=10_000,
        ge=0,
        description="Events accepted a second above which a burst is under way (above the "
        "steady rate resolution is built to keep up with; a threshold a steady load crosses "
        "now and then makes it rest at random and fall behind): the resolver "
        "then rests between full batches (four times as long as a batch took, at most 5 s) so "
        "that accepting keeps the CPU and the database, and catches up once arrivals fall "
        "below it; it no longer rests once its batches have all been full for 5 s (a steady "
        "load, which resolution must keep up with). 0: the resolver never rests.",
    )
    gc_threshold: int = Field(
        default=50_000,
        ge=0,
        description="Container allocations between two young-generation passes of Python's "
        "cycle collector in the API workers, the resolver and the import and resolve commands "
        "(Python's default is 700, which "
        "walks every request's parsed messages several times); what a process made at "
        "start-up is frozen. 0 leaves the collector as Python sets it.",
    )
    resolve_inline: bool = Field(
        default=False,
        description="Also resolve within the tracking request, after the events are "
        "committed, so the answer comes once profiles reflect them (slower; for tests "
        "and read-your-writes set-ups).",
    )
    outbox_worker: bool = Field(
        default=True,
        description="Run the inbox's background threads in each API process: the outbox "
        "(sends queued email replies and surveys through the workspace's relay, retrying "
        "with back-off) and the job that wakes snoozed conversations.",
    )
    imap_poll_seconds: float = Field(
        default=60.0,
        description="How often the API process polls workspaces' IMAP mailboxes (0 turns "
        "polling off).",
    )
    chat_max_upload_mb: float = Field(
        default=10.0,
        description="Largest file a chat visitor may send, in MB (images, PDF, text).",
    )
    chat_online_seconds: int = Field(
        default=60,
        description="A visitor whose widget was heard from within this many seconds is on "
        "the site now (the live visitors panel).",
    )
    demo_site: bool = Field(
        default=False,
        description="Serve the demo shop (a stand-in for a customer's website with the chat "
        "widget) at /demo; `make demo` and `accord serve --demo-site` turn it on.",
    )

    match_auto_merge: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Match probability at or above which probabilistic matching merges two "
        "people automatically (a workspace may override it in settings.match.auto_merge).",
    )
    match_review: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Match probability at or above which a pair goes to the possible-duplicates "
        "review queue (settings.match.review overrides it per workspace).",
    )
    match_worker: bool = Field(
        default=True,
        description="Run the matching thread in each API process: queued runs, scheduled "
        "runs and near-real-time matching of new profiles.",
    )
    match_interval_minutes: int = Field(
        default=1440,
        ge=0,
        description="Minutes between scheduled full matching runs of a workspace (0: never).",
    )
    match_incremental_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between passes that match new and changed profiles against "
        "the existing ones with the last trained model (0: off).",
    )
    retention_worker: bool = Field(
        default=True,
        description="Run the retention thread in each API process: once a day it applies each "
        "workspace's retention policies (settings.privacy), looking every hour for one due.",
    )
    spark_master: str = Field(
        default="local[2]",
        description="Spark master for `accord resolve --engine spark`: local[N] or a "
        "cluster URL such as spark://host:7077.",
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "use smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]"
            )
        parts.port  # noqa: B018 (raises on a port that is not a number)
        return value

    @property
    def mail_sender(self) -> str:
        """The From address of Accord's own email."""
        if self.mail_from:
            return self.mail_from
        return f"no-reply@{urlsplit(self.base_url).hostname or 'localhost'}"

    def on_database(self, url: str) -> Settings:
        """These settings with another database (and what follows it, the job queue)."""
        copy = self.model_copy(update={"database_url": url})
        copy.__dict__.pop("resolved_database_url", None)  # computed again from ``url``
        return copy

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'accord.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured secret key, or the one generated and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / SECRET_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker generated it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


def get_settings() -> Settings:
    return Settings()
