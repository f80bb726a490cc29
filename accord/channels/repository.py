"""SQL of the channels: finding the workspaces whose mailbox settings mention an address
or an IMAP account, without reading (or decrypting) every workspace's settings."""

from __future__ import annotations

from sqlalchemy import String, cast, select

from accord.govern.workspaces.models import Workspace
from accord.kit.repository import Repository


class MailboxRepository(Repository):
    def mentioning(self, domain: str) -> list[Workspace]:
        """Workspaces whose settings mention ``@domain``: a cheap filter in the database
        (the caller checks the addresses themselves)."""
        if not domain.isascii():  # stored JSON may escape it: read them all
            return list(self.session.scalars(select(Workspace)))
        pattern = "%@" + domain.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        stmt = select(Workspace).where(cast(Workspace.settings, String).ilike(pattern, escape="\\"))
        return list(self.session.scalars(stmt))

    def mentioning_imap(self) -> list[Workspace]:
        """Workspaces whose settings mention an IMAP account (the caller checks)."""
        stmt = select(Workspace).where(cast(Workspace.settings, String).like('%"imap"%'))
        return list(self.session.scalars(stmt))
