from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from accord.inbox.rules import InboxRules

Channel = Literal["email", "web", "phone", "sms", "chat", "social"]
Status = Literal["open", "pending", "snoozed", "resolved"]
Priority = Literal["low", "normal", "high", "urgent"]

# A clock is at most a year (and a due time must stay a date).
MAX_SLA_MINUTES = 366 * 24 * 60


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200)
    anonymous_id: str | None = Field(None, max_length=200)
    social: dict[str, str] = Field(default_factory=dict, description="platform -> handle")


class InboundIn(BaseModel):
    """A message from a customer arriving through the API (chat, social, any channel)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    contact: ContactIn
    body: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(None, max_length=300)
    external_id: str | None = Field(
        None, max_length=300, description="The channel's id; retries are idempotent"
    )
    at: datetime | None = None
    priority: Priority | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)
    meta: dict[str, Any] = Field(default_factory=dict)


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    direction: str
    channel: str
    author_id: uuid.UUID | None
    author_name: str | None
    address: str | None
    subject: str | None
    body: str
    quoted: str | None
    external_id: str | None
    delivery: str | None
    delivery_error: str | None
    meta: dict[str, Any]
    created_at: datetime


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    actor_id: uuid.UUID | None
    channel: str | None
    data: dict[str, Any]
    at: datetime


class ConversationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    profile_id: uuid.UUID | None
    subject: str
    status: str
    priority: str
    tags: list[str]
    assignee_id: uuid.UUID | None
    team_id: uuid.UUID | None
    channel: str
    last_channel: str
    contact_name: str | None
    preview: str
    message_count: int
    created_at: datetime
    last_message_at: datetime
    waiting_since: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla: str = "none"
    reopen_count: int
    csat_score: int | None
    csat_comment: str | None


class ConversationDetail(ConversationRead):
    messages: list[MessageRead]
    events: list[EventRead]


class ConversationPage(BaseModel):
    data: list[ConversationRead]
    next_cursor: str | None


class Received(BaseModel):
    conversation: ConversationRead
    message_id: uuid.UUID
    created: bool
    duplicate: bool


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: uuid.UUID | None = Field(None, description="The agent an API token acts for")

    body: str = Field(min_length=1, max_length=100_000)
    channel: Literal["email", "sms", "chat", "social"] | None = Field(
        None,
        description="What Accord delivers a reply on (by default the customer's last "
        "channel that can be answered); a caller is answered by calling back and logging "
        "the call (POST /api/v1/calls)",
    )
    private: bool = Field(
        False,
        description="A social reply sent as a direct message to the author instead of a "
        "public reply under the post",
    )
    status: Status | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: uuid.UUID | None = Field(None, description="The agent an API token acts for")

    body: str = Field(min_length=1, max_length=20_000)


class ConversationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: uuid.UUID | None = Field(None, description="The agent an API token acts for")

    status: Status | None = None
    snooze_until: datetime | None = None
    priority: Priority | None = None
    tags: list[str] | None = Field(None, max_length=30)
    assignee_id: uuid.UUID | None = None
    unassign: bool = False


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: uuid.UUID | None = Field(None, description="The agent an API token acts for")

    team_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    note: str | None = Field(None, max_length=20_000)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    routing: Literal["round_robin", "least_loaded", "manual"] = "round_robin"
    business_hours: dict[str, Any] = Field(default_factory=dict)
    is_priority_queue: bool = False
    members: list[uuid.UUID] = Field(default_factory=list)


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    routing: str
    business_hours: dict[str, Any]
    is_priority_queue: bool
    members: list[uuid.UUID] = Field(default_factory=list)


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: bool | None = None
    capacity: int | None = Field(None, ge=0, le=500)
    skills: list[str] | None = Field(None, max_length=50)


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    available: bool
    capacity: int
    skills: list[str]


class SlaPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    team_id: uuid.UUID | None = None
    priority: Priority | None = None
    first_response_minutes: int | None = Field(None, gt=0, le=MAX_SLA_MINUTES)
    next_response_minutes: int | None = Field(None, gt=0, le=MAX_SLA_MINUTES)
    resolution_minutes: int | None = Field(None, gt=0, le=MAX_SLA_MINUTES)
    business_hours: bool = True


class SlaPolicyRead(SlaPolicyIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID


class CannedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_\-]+$")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class CannedRead(CannedIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID


class CannedRendered(BaseModel):
    body: str


class InboxSettingsRead(InboxRules):
    """The inbox rules with their version: send it back with a change to have the change
    refused if someone else changed them in between."""

    version: int
