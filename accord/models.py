"""Imports every ORM model so the metadata is complete (Alembic, tests)."""

from accord.analyze.acquisition.models import AcquisitionTouch, Campaign, Link
from accord.analyze.audiences.models import Delivery, Destination
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.analyze.segments.models import (
    ComputedTrait,
    Segment,
    SegmentChange,
    SegmentClock,
    SegmentDirty,
    SegmentMember,
    SegmentSize,
    SegmentTimer,
)
from accord.chat.models import ChatTrigger, ChatTriggerShow, ChatVisitor
from accord.collect.models import Event
from accord.govern.access.models import (
    ApiKey,
    LoginAttempt,
    Membership,
    PasswordReset,
    User,
    UserSession,
)
from accord.govern.audit.models import AccessLogEntry, AuditEvent
from accord.govern.consent.models import ConsentRecord, ConsentState, Suppression
from accord.govern.workspaces.models import Workspace
from accord.helpcenter.community.models import (
    CommunityAnswer,
    CommunityFlag,
    CommunityLink,
    CommunityMember,
    CommunityQuestion,
    CommunitySession,
    CommunityVote,
)
from accord.helpcenter.models import (
    HelpArticle,
    HelpAsset,
    HelpCategory,
    HelpDocument,
    HelpRead,
    HelpReplyLink,
    HelpRevision,
    HelpSearch,
    HelpTerm,
    HelpTranslation,
    HelpVisit,
    HelpVote,
)
from accord.inbox.models import (
    AgentState,
    Attachment,
    CannedResponse,
    Conversation,
    ConversationEvent,
    Message,
    SlaPolicy,
    Team,
    TeamMember,
)
from accord.kit.db import Base
from accord.match.models import MatchCandidate, MatchRun
from accord.outreach.journeys.models import (
    Journey,
    JourneyEntry,
    JourneySignal,
    JourneyStepLog,
    JourneyVersion,
)
from accord.outreach.models import Campaign as OutreachCampaign
from accord.outreach.models import Send as OutreachSend
from accord.privacy.models import PrivacyRequest, RetentionRun
from accord.profile.models import Order, Profile
from accord.resolve.models import (
    Identifier,
    IdentityLink,
    Merge,
    Separation,
    SeparationMember,
)
from accord.social.models import Mention, SocialAlert, SocialSource

__all__ = [
    "AccessLogEntry",
    "AcquisitionTouch",
    "AgentState",
    "ApiKey",
    "Attachment",
    "AuditEvent",
    "Base",
    "Campaign",
    "CannedResponse",
    "ChatTrigger",
    "ChatTriggerShow",
    "ChatVisitor",
    "CommunityAnswer",
    "CommunityFlag",
    "CommunityLink",
    "CommunityMember",
    "CommunityQuestion",
    "CommunitySession",
    "CommunityVote",
    "ComputedTrait",
    "ConsentRecord",
    "ConsentState",
    "Conversation",
    "ConversationEvent",
    "CustomerScore",
    "Delivery",
    "Destination",
    "Event",
    "HelpArticle",
    "HelpAsset",
    "HelpCategory",
    "HelpDocument",
    "HelpRead",
    "HelpReplyLink",
    "HelpRevision",
    "HelpSearch",
    "HelpTerm",
    "HelpTranslation",
    "HelpVisit",
    "HelpVote",
    "Identifier",
    "IdentityLink",
    "Journey",
    "JourneyEntry",
    "JourneySignal",
    "JourneyStepLog",
    "JourneyVersion",
    "Link",
    "LoginAttempt",
    "MatchCandidate",
    "MatchRun",
    "Membership",
    "Mention",
    "Merge",
    "Message",
    "Order",
    "OutreachCampaign",
    "OutreachSend",
    "PasswordReset",
    "PrivacyRequest",
    "Profile",
    "RetentionRun",
    "ScoringRun",
    "Segment",
    "SegmentChange",
    "SegmentClock",
    "SegmentDirty",
    "SegmentMember",
    "SegmentSize",
    "SegmentTimer",
    "Separation",
    "SeparationMember",
    "SlaPolicy",
    "SocialAlert",
    "SocialSource",
    "Suppression",
    "Team",
    "TeamMember",
    "User",
    "UserSession",
    "Workspace",
]
