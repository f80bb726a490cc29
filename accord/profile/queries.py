"""The basic reads of a person that every layer needs: the live person behind an id
(following a merged profile to its survivor) and their summary. The Customer 360, look-ups
and the timeline are read in ``accord.customers``."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.kit.errors import not_found
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from accord.profile.schemas import ProfileSummary

MAX_HOPS = 32


def live_profile(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> Profile:
    """The person, following a merged profile's tombstone to its survivor."""
    repo = ProfileRepository.from_session(session)
    profile = repo.get(workspace_id, profile_id)
    hops = 0
    while profile is not None and profile.merged_into_id is not None and hops < MAX_HOPS:
        profile = repo.get(workspace_id, profile.merged_into_id)
        hops += 1
    if profile is None:
        raise not_found("Profile", field="profile_id")
    return profile


def summary(p: Profile) -> ProfileSummary:
    return ProfileSummary(
        id=p.id,
        display_name=p.display_name,
        email=p.email,
        phone=p.phone,
        first_seen_at=p.first_seen_at,
        last_seen_at=p.last_seen_at,
        order_count=p.order_count,
        revenue=p.revenue,
    )
