"""The events as a rebuild reads them: only the fields the registry's projection uses are validated. A forwarded
application carries its whole dossier; the registry keeps five facts of its platform, so a replay parses those
(`model_validate_json` skips the rest of the bytes without building it). A verdict carries every clause's
measurement; the registry keeps whether the application is a candidate, and where."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from zhongshi_contracts.dossier import Professionals, Yuan
from zhongshi_contracts.events import ApplicationScreened, Event, ScreeningOutcome
from zhongshi_contracts.recommendation import ApplicationForwarded
from zhongshi_contracts.reference import Cluster, PlatformType, ServiceKind


class PlatformFacts(BaseModel):
    """What `handlers.profile_of` reads of the dossier's platform, with the dossier's own types."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    platform_type: PlatformType
    clusters: list[Cluster]
    service_kinds: list[ServiceKind]
    equipment_original_value: Yuan
    professionals: Professionals


class DossierFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    platform: PlatformFacts


class ForwardedFacts(Event):
    """`ApplicationForwarded` as the registry's projection reads it."""

    topic = ApplicationForwarded.topic
    dossier: DossierFacts


class ScreenedFacts(Event):
    """`ApplicationScreened` as the registry's projection reads it."""

    topic = ApplicationScreened.topic
    outcome: ScreeningOutcome
    city_code: str
