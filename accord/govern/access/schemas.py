from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from accord.govern.access.models import ApiKey, Membership
from accord.govern.access.scopes import Role, Scope


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    last_login_at: datetime | None
    member_since: datetime

    @classmethod
    def of(cls, m: Membership) -> MemberRead:
        return cls(
            user_id=m.user_id,
            email=m.user.email,
            name=m.user.name,
            role=Role(m.role),
            is_active=m.user.is_active,
            last_login_at=m.user.last_login_at,
            member_since=m.created_at,
        )


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    role: Role
    name: str = Field(default="", max_length=200)
    password: str | None = Field(
        default=None,
        min_length=10,
        max_length=200,
        description="Initial password; one is generated and returned when omitted.",
    )


class MemberCreated(MemberRead):
    generated_password: str | None = Field(
        default=None, description="Shown once when the server generated the password."
    )


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    name: str | None = Field(default=None, max_length=200)


class KeyRead(BaseModel):
    id: uuid.UUID
    kind: Literal["write", "token"]
    name: str
    prefix: str
    scopes: list[str]
    write_key: str | None = Field(
        default=None, description="The full write key (not a secret: it sits in web pages)."
    )
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyRead:
        return cls(
            id=key.id,
            kind=key.kind,
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            write_key=key.write_key,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
        )


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["write", "token"]
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(
        default=None, description="API tokens only; all scopes when omitted."
    )


class KeyCreated(KeyRead):
    secret: str = Field(description="The full key. Shown once; Accord keeps only a hash.")
