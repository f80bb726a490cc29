"""Help center jobs, run by the job engine (registered by name in ``accord/jobs.py``):
every minute, the translations scheduled for publication whose time has come go live."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from accord.helpcenter import service
from accord.kit.db import transaction

log = logging.getLogger(__name__)


def publish_due(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        published = service.publish_due(session)
    if published:
        log.info("help center: %d scheduled translations published", published)
