"""The application dossier (申报材料): everything 《湖北省制造业中试平台培育建设工作指引》 二 to 四 and 五、条件要求
ask an applicant to declare."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from zhongshi_contracts.credit_code import credit_code_problem, kind_problem, region_problem
from zhongshi_contracts.inputs import CalendarDate, Flag
from zhongshi_contracts.names import Name
from zhongshi_contracts.privacy import PERSONAL, Classification, mark_fields
from zhongshi_contracts.reference import (
    LEGAL_PERSON_KIND_LABELS,
    Cluster,
    LegalPersonKind,
    PlatformType,
    ServiceKind,
    hubei_counties,
    region,
)

Yuan = Annotated[
    Decimal,
    Field(ge=0, max_digits=16, decimal_places=2, description="Exact amount in CNY yuan (元), as a string."),
]
SquareMetres = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, description="Area in m².")]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]


def _valid_credit_code(code: str) -> str:
    problem = credit_code_problem(code)
    if problem:
        raise ValueError(problem)
    return code


def _hubei_county(code: str) -> str:
    if code not in hubei_counties():
        raise ValueError(f"{code} 不是湖北省县级行政区划代码（GB/T 2260）")
    return code


CreditCode = Annotated[
    str,
    Field(pattern=r"^[0-9A-Z]{18}$", description="18-character unified social credit code (GB 32100-2015)."),
    AfterValidator(_valid_credit_code),
]
CountyCode = Annotated[
    str,
    Field(pattern=r"^\d{6}$", description="Hubei county-level region code (GB/T 2260)."),
    AfterValidator(_hubei_county),
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC


class Contact(_Part):
    """The applicant's contact person: personal data (个人信息), never on a public topic."""

    classification = Classification.PERSONAL
    name: Name
    phone: Annotated[str, Field(pattern=r"^[0-9+\-() ]{5,20}$")]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200)]


class Applicant(_Part):
    """申报主体."""

    name: Name
    credit_code: CreditCode
    legal_person_kind: LegalPersonKind
    region_code: CountyCode
    contact: Annotated[Contact, PERSONAL]


class Professionals(_Part):
    """专业人才 by category (C7)."""

    management: int = Field(0, ge=0, le=100_000)
    rd: int = Field(0, ge=0, le=100_000)
    testing: int = Field(0, ge=0, le=100_000)
    quality: int = Field(0, ge=0, le=100_000)

    @property
    def total(self) -> int:
        return self.management + self.rd + self.testing + self.quality


class MechanismDocument(_Part):
    """A document of the operating mechanism (运行机制, C9)."""

    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,50}$", examples=["operations_management"])]
    title: Text


class Partner(_Part):
    """A party of a joint construction (多元主体联合共建, §4(三))."""

    name: Name
    credit_code: CreditCode | None = None
    investment: Yuan
    ip_share_percent: Percent
    revenue_share_percent: Percent


class Platform(_Part):
    """The pilot platform being applied for."""

    name: Name
    platform_type: PlatformType
    clusters: list[Cluster] = Field(max_length=35, description="51020 clusters the platform serves.")
    service_kinds: list[ServiceKind] = Field(max_length=9)
    serves_external_clients: Flag = Field(description="Open to outside users (public-service character, C3).")
    operating_since: CalendarDate = Field(description="Date of formal operation (正式运行).")
    has_pilot_line_or_test_site: Flag
    pilot_line_description: LongText = ""
    safety_facilities: Flag
    environmental_facilities: Flag
    equipment_original_value: Yuan
    site_area_m2: SquareMetres
    professionals: Professionals
    mechanism_documents: list[MechanismDocument] = Field(default_factory=list, max_length=100)
    partners: list[Partner] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _joint_construction_has_partners(self) -> Self:
        if self.platform_type is PlatformType.JOINT_CONSTRUCTION and not self.partners:
            raise ValueError("多元主体联合共建平台须填写共建各方（partners）")
        for field in ("ip_share_percent", "revenue_share_percent"):
            if sum((getattr(p, field) for p in self.partners), Decimal(0)) > 100:
                raise ValueError(f"共建各方 {field} 之和不得超过100")
        return self


class TechnologyTransfer(_Part):
    """A technology transfer (技术成果转化) the platform delivered."""

    date: CalendarDate
    title: Text
    client: Text


class RevenuePeriod(_Part):
    """Pilot-service revenue (中试服务收入) for one period."""

    period_start: CalendarDate
    period_end: CalendarDate
    amount: Yuan

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end 不得早于 period_start")
        return self


class Outcomes(_Part):
    """Service outcomes (服务成效, C8)."""

    technology_transfers: list[TechnologyTransfer] = Field(default_factory=list, max_length=1000)
    service_revenue: list[RevenuePeriod] = Field(default_factory=list, max_length=200)


class Material(_Part):
    """A material the applicant declares by name and checksum. Declared only: the uploaded files are
    `ApplicationSubmitted.materials` (intake stores them), and only those count as evidence (C9)."""

    name: Text
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,50}$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Dossier(_Part):
    """The full application dossier, as submitted and as carried in `pilot.application.submitted`."""

    applicant: Applicant
    platform: Platform
    outcomes: Outcomes = Field(default_factory=Outcomes)
    materials: list[Material] = Field(default_factory=list, max_length=200)

    def scope_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Where the applicant's credit code contradicts its declared county or legal-person kind, and why."""
        a = self.applicant
        found: list[tuple[tuple[str, ...], str]] = []
        if why := region_problem(a.credit_code, a.region_code, region(a.region_code).city_code):
            found.append((("applicant", "region_code"), why))
        kind = a.legal_person_kind
        if why := kind_problem(a.credit_code, kind.value, LEGAL_PERSON_KIND_LABELS[kind]):
            found.append((("applicant", "legal_person_kind"), why))
        return found

    def future_dates(self, today: date) -> list[tuple[str, ...]]:
        """Locations of dates after ``today`` (a dossier cannot report the future)."""
        found: list[tuple[str, ...]] = []
        if self.platform.operating_since > today:
            found.append(("platform", "operating_since"))
        for i, t in enumerate(self.outcomes.technology_transfers):
            if t.date > today:
                found.append(("outcomes", "technology_transfers", str(i), "date"))
        for i, r in enumerate(self.outcomes.service_revenue):  # revenue earned: a period that has ended
            found += [("outcomes", "service_revenue", str(i), end) for end in ("period_start", "period_end")
                      if getattr(r, end) > today]
        return found
