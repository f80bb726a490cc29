from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class ProfileSummary(BaseModel):
    id: uuid.UUID
    display_name: str | None
    email: str | None
    phone: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    order_count: int
    revenue: Decimal
