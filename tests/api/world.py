"""The records the access matrix acts on, made on the live stack through the services' own APIs (the
registry's entry and publicity, which are only born from a closed publicity window, through its repository).

One applicant in 洪山区 (420111, 武汉市 420100) owns every application; "other" callers are 江夏区 (420115, the
same city), 黄石市 (420200), another applicant, and an expert of the pool who is not on the record's panel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pymongo import AsyncMongoClient
from zhongshi_contracts.registry import PublicityItem
from zhongshi_contracts.review import Decision
from zhongshi_registry.certificate_pdf import verification_url
from zhongshi_registry.certificates import CertificateDocument
from zhongshi_registry.domain import Objection, Publicity
from zhongshi_registry.entries import Entry, Status
from zhongshi_registry.repository import RegistryRepository
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from tests.api.access_table import AN, CI, CO, EX, OA, OCI, OCO, OEX, OP, PR, A
from tests.integration.helpers import Api, eventually, unique_credit_code
from zhongshi.demo import dossier as demo_dossier
from zhongshi.demo_data import APPLICANTS
from zhongshi.demo_materials import upload_parts
from zhongshi.launcher import SERVICES

COUNTY, OTHER_COUNTY, CITY, OTHER_CITY = "420111", "420115", "420100", "420200"
OPINION = {"opinion": "经审核，同意"}
NATIONAL_DIMENSIONS = ("战略定位", "基础能力", "技术优势", "服务成效", "运行机制", "未来潜力")


class World:
    """Record names → ids, request bodies by name, and who each relative caller is for a record."""

    def __init__(self, api: Api) -> None:
        self.api, self.today = api, shanghai_date(utc_now())
        self.uid = uuid.uuid4().hex[:8]
        self.code, self.other_code = unique_credit_code(COUNTY), unique_credit_code(OTHER_COUNTY)
        self.ids: dict[str, str] = {"county_code": COUNTY, "city_code": CITY, "rule_set": "hubei-2025-v1",
                                    "last_year": str(self.today.year - 1), "new_expert_id": f"E-{self.uid}-new"}
        self.panels: dict[str, dict[str, Any]] = {}
        self.experts: list[str] = []
        self.bodies: dict[str, Any] = {}
        self.rubric: dict[str, Any] = {"criteria": []}

    def dossier(self, **platform: Any) -> dict[str, Any]:
        d = demo_dossier(0, APPLICANTS[0], self.today)
        d["applicant"]["credit_code"] = self.code
        d["platform"].update(platform)
        return d

    def caller(self, who: str, record: str) -> tuple[Role, str] | None:
        panel = self.panels.get(record) or self.panels.get("r1") or {}
        members = panel.get("experts", [])
        return {
            AN: None, A: (Role.APPLICANT, self.code), OA: (Role.APPLICANT, self.other_code),
            CO: (Role.COUNTY_OFFICIAL, COUNTY), OCO: (Role.COUNTY_OFFICIAL, OTHER_COUNTY),
            CI: (Role.CITY_OFFICIAL, CITY), OCI: (Role.CITY_OFFICIAL, OTHER_CITY), PR: (Role.PROVINCE_OFFICIAL, "42"),
            EX: (Role.EXPERT, members[0] if members else ""),  # the panel's lead
            OEX: (Role.EXPERT, next(e for e in self.experts if e not in members)),
            OP: (Role.OPERATOR, "*"),
        }[who]

    async def call(self, method: str, service: str, path: str, who: tuple[Role, str] | None = (
            Role.PROVINCE_OFFICIAL, "42"), **kwargs: Any) -> Any:
        role, scope = who if who else (None, "")
        return await self.api.call(method, service, path, role, scope, **kwargs)

    async def ok(self, method: str, service: str, path: str, who: tuple[Role, str] | None = (
            Role.PROVINCE_OFFICIAL, "42"), **kwargs: Any) -> Any:
        r = await self.call(method, service, path, who, **kwargs)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    # ---- building ----
    async def build(self, *, full: bool = True) -> World:
        """Every record the matrix needs; without ``full``, only a round, an application and the registry's."""
        if full:
            await self.intake_and_chain()
            await self.review()
        else:
            self.ids["round"] = await self.api.open_round()
            self.ids["read"] = self.ids["r1"] = await self.application(submit=False)
        await self.registry()
        await self.dead_letter()
        if full:
            await self.notify()
        self.make_bodies()
        await self.complete_bodies()
        return self

    async def application(self, submit: bool = True, **platform: Any) -> str:
        me = (Role.APPLICANT, self.code)
        app = await self.ok("POST", "intake", "/api/v1/applications", me,
                            json={"round_id": self.ids["round"], "dossier": self.dossier(**platform)})
        if submit:
            await self.api.upload_materials(app["id"], self.dossier(**platform))
            await self.ok("POST", "intake", f"/api/v1/applications/{app['id']}/submit", me)
        return str(app["id"])

    async def intake_and_chain(self) -> None:
        self.ids["round"] = await self.api.open_round()
        await self.ok("PUT", "screening", f"/api/v1/rounds/{self.ids['round']}/settings",
                      json={"round_id": self.ids["round"], "quotas": {CITY: 10, OTHER_CITY: 10}})
        for name in ("draft", "to_submit", "to_delete"):
            self.ids[name] = await self.application(submit=False)
        for name in ("to_withdraw", "read", "c_rec", "c_ret", "c_fwd", "c_rej", "r1", "r2"):
            self.ids[name] = await self.application()
        self.ids["c_exc"] = await self.application(equipment_original_value="8000000")  # C5 needs an exception
        for name in ("read", "c_rec", "c_ret", "c_fwd", "c_rej", "r1", "r2", "c_exc"):
            await self.api.screened(self.ids[name], timeout=60)
        county, city = (Role.COUNTY_OFFICIAL, COUNTY), (Role.CITY_OFFICIAL, CITY)
        for name in ("c_fwd", "c_rej", "r1", "r2", "c_exc"):
            await self.ok("POST", "screening", f"/api/v1/applications/{self.ids[name]}/recommend", county, json=OPINION)
        for name in ("r1", "r2", "c_exc"):
            await self.ok("POST", "screening", f"/api/v1/applications/{self.ids[name]}/forward", city, json=OPINION)

    async def review(self) -> None:
        clusters = self.dossier()["platform"]["clusters"]
        self.experts = [f"E-{self.uid}-{i}" for i in range(5)]
        for i, expert in enumerate(self.experts):
            await self.ok("PUT", "review", f"/api/v1/experts/{expert}", json={
                "id": expert, "name": f"专家{i}", "organisation": f"测试研究院{self.uid}{i}", "title": "研究员",
                "fields": clusters, "region_code": OTHER_CITY, "active": True})
        round_id = self.ids["round"]
        await self.ok("PUT", "review", f"/api/v1/rounds/{round_id}/review-settings",
                      json={"round_id": round_id, "panel_size": 2})

        async def candidates() -> bool:
            proposal = await self.ok("GET", "review", f"/api/v1/rounds/{round_id}/proposal")
            waiting = {i["application_id"] for i in proposal["incomplete"]}
            return {self.ids["r1"], self.ids["r2"]} <= waiting

        await eventually(candidates, "r1 and r2 in expert review", 60)
        await self.ok("POST", "review", f"/api/v1/rounds/{round_id}/draw-commitment")
        await self.ok("POST", "review", f"/api/v1/rounds/{round_id}/panels", json={
            "application_ids": [self.ids["r1"], self.ids["r2"]]})
        for name in ("r1", "r2"):
            panel = (await self.ok("GET", "review", f"/api/v1/panels/{self.ids[name]}"))["panel"]
            self.panels[name] = panel
        self.ids["lead"] = self.panels["r1"]["experts"][0]
        await self.materials_readable_by_the_lead()
        self.rubric = (await self.ok("GET", "review", f"/api/v1/rounds/{round_id}/review-settings"))["rubric"]
        await self.scores_apart()

    async def scores_apart(self) -> None:
        """r1's other member scores low: once its lead scores (the score row, before the reconcile row), the two
        totals are far apart and the lead has a divergence to coordinate."""
        criteria, other = self.rubric["criteria"], self.panels["r1"]["experts"][1]
        sheet = {"scores": {c["key"]: 0 for c in criteria},
                 "comments": {c["key"]: "该项基础薄弱，尚不具备条件。" for c in criteria}}
        await self.ok("POST", "review", f"/api/v1/assignments/{self.ids['r1']}/score", (Role.EXPERT, other), json=sheet)

    async def materials_readable_by_the_lead(self) -> None:
        """Intake learns the panel from review's event: wait until r1's lead may read its materials."""
        path = f"/api/v1/applications/{self.ids['r1']}/materials"

        async def readable() -> str | None:
            r = await self.call("GET", "intake", path, (Role.EXPERT, self.ids["lead"]))
            return str(r.json()["current"][0]) if r.status_code == 200 else None

        self.ids["r1_material"] = await eventually(readable, "r1's materials readable by its panel's lead", 60)

    async def dead_letter(self) -> None:
        """A dead letter redriven already in every service's ledger: shown to operators, not redriven again."""
        self.ids["dead_letter"] = entry_id = f"pilot.application.submitted:0:{self.uid}"
        now = datetime.now(UTC)
        for service in SERVICES:
            client: AsyncMongoClient[Any] = AsyncMongoClient(self.api.stack.database_uri(service), tz_aware=True)
            await client[f"zhongshi_{service}"].dead_letters.insert_one({
                "_id": entry_id, "group": f"zhongshi-{service}", "topic": "pilot.application.submitted",
                "partition": 0, "offset": 0, "kind": "invalid", "reason": "matrix", "key": "", "subject": "",
                "event_id": "", "event_type": "", "headers": {}, "body": b"{}", "status": "redriven",
                "failed_at": now, "redriven_at": now, "seq": 0})
            await client.close()

    async def registry(self) -> None:
        client: AsyncMongoClient[Any] = AsyncMongoClient(self.api.stack.database_uri("registry"), tz_aware=True)
        repo = RegistryRepository.mongo(client["zhongshi_registry"])
        now, round_id = datetime.now(UTC), self.ids["round"]
        entry = Entry(id=f"P-{self.uid}", kind="platform", status=Status.ACCREDITED, application_id=self.ids["r1"],
                      round_id=round_id, platform_name=f"矩阵测试平台{self.uid}", applicant_name="矩阵测试单位",
                      applicant_credit_code=self.code, region_code=COUNTY, city_code=CITY, platform_type=None,
                      clusters=[], service_kinds=[], listed_on=self.today, certificate_no=f"MATRIX-{self.uid}",
                      accredited_on=self.today)
        item = PublicityItem(application_id=self.ids["r1"], platform_name=entry.platform_name,
                             applicant_name=entry.applicant_name, city_code=CITY, region_code=COUNTY,
                             decision=Decision.ACCREDIT)
        publicity = Publicity(round_id=round_id, working_days=5, starts_on=self.today,
                              ends_on=self.today + timedelta(days=14), opened_at=now, items=[item])
        objection = Objection(id=f"OBJ-{self.uid}", round_id=round_id, application_id=self.ids["r1"], name="张三",
                              contact="13800000000", grounds="该平台的中试线尚未建成投运。", filed_at=now)
        await repo.save_entry(entry)
        await repo.save_publicity(publicity)
        await repo.save_objection(objection)
        await client.close()
        self.ids.update(platform=entry.id, certificate=entry.certificate_no or "", objection=objection.id)

    async def notify(self) -> None:
        me = (Role.APPLICANT, self.code)

        async def message() -> str | None:
            items = (await self.ok("GET", "notify", "/api/v1/inbox", me))["items"]
            return str(items[0]["id"]) if items else None

        self.ids["message"] = await eventually(message, "a message in the applicant's inbox", 60)
        hook = await self.ok("POST", "notify", "/api/v1/webhooks", (Role.OPERATOR, "*"), json={
            "url": "http://127.0.0.1:9/matrix", "event_types": ["pilot.application.forwarded"]})
        self.ids["webhook"] = hook["id"]

    def make_bodies(self) -> None:
        rule_set_version = f"matrix-{self.uid}"
        criteria = self.rubric["criteria"]
        self.bodies = {
            "new_round": {"id": f"R-M-{self.uid}", "title": "矩阵批次", "opens_on": "2020-01-01",
                          "closes_on": "2099-12-31", "rule_set_version": "hubei-2025-v1"},
            "new_application": {"round_id": self.ids["round"], "dossier": self.dossier()},
            "patch": {"platform": {"name": "修改后的平台名称"}},
            "reason": {"reason": "经研究决定撤回"},
            "material": upload_parts("equipment_list", self.dossier()),
            "new_rule_set": {"version": rule_set_version},  # completed in `rule_set_body`
            "check": {"dossier": self.dossier()},
            "opinion": OPINION,
            "priorities": {"application_ids": [self.ids.get("c_rej", "")]},
            "exception": {"approved": True, "justification": "依托共享设备，能力满足要求"},
            "chain_settings": {"round_id": self.ids["round"], "quotas": {CITY: 10, OTHER_CITY: 10}},
            "chain_settings_part": {"quotas": {CITY: 10, OTHER_CITY: 10}},
            "new_expert": {"id": self.ids["new_expert_id"], "name": "新专家", "organisation": "矩阵大学",
                           "title": "教授", "fields": ["laser"], "region_code": OTHER_CITY},
            "expert_csv": ("id,name,organisation,organisation_credit_code,title,fields,region_code,email,phone,"
                           f"active,relations\nE-{self.uid}-csv,李明,武汉大学,,教授,laser,420111,,,false,\n"),
            "review_settings": {"round_id": self.ids["round"], "panel_size": 2},
            "draw": {"application_ids": [self.ids["r1"], self.ids.get("r2", "")]},
            "sheet": {"scores": {c["key"]: c["max_score"] for c in criteria},
                      "comments": {c["key"]: "表现突出，具有示范带动作用。" for c in criteria}},
            "note": {"note": "经组内讨论，维持各自评分"},
            "inspection": {"passed": True, "notes": "现场核查通过"},
            "override": {"decision": "cultivate", "justification": "地方产业急需，列为培育对象"},
            "today": {"today": self.today.isoformat()},
            "open_publicity": {},
            "holiday_notice": {"holidays": ["2100-01-01"], "source": "国务院办公厅关于2100年部分节假日安排的通知"},
            "objection": {"application_id": self.ids["r1"], "name": "李四", "contact": "13900000000",
                          "grounds": "该平台的设备原值与实际不符，请核查。"},
            "resolution": {"upheld": False, "reason": "经核查，异议不成立"},
            "bulk_resolution": {"objection_ids": [self.ids.get("objection", "")], "upheld": False,
                                "reason": "经核查，异议不成立"},
            "annual_report": {"year": self.today.year - 1, "service_projects": 12, "clients_served": 8,
                              "service_revenue": "6000000", "technology_transfers": 4,
                              "equipment_value": "12000000", "staff": 20},
            "evaluation": {"standing": "good", "reason": "年度运行良好"},
            "national": {"profile": {d: {"score": "90", "notes": "表现突出"} for d in NATIONAL_DIMENSIONS}},
            "national_outcome": {"outcome": "upgraded"},
            "preferences": {"email": True, "sms": False},
            "sms_verification": {"channel": "sms", "address": "13900007777"},
            "verification_code": {"code": "123456"},
            "contact": {"name": "洪山区经信局", "email": "hongshan@example.cn"},
            "webhook": {"url": "http://127.0.0.1:9/matrix", "event_types": ["pilot.application.forwarded"]},
        }

    async def complete_bodies(self) -> None:
        """Bodies that copy what the stack holds: a new rule-set version, a signed certificate."""
        rule_set = await self.ok("GET", "screening", f"/api/v1/rule-sets/{self.ids['rule_set']}")
        self.bodies["new_rule_set"] = {**rule_set, **self.bodies["new_rule_set"]}
        self.bodies["certificate"] = await self.ok("GET", "registry",
                                                   f"/api/v1/public/certificates/{self.ids['certificate']}", None)
        signed = self.bodies["certificate"]
        url = verification_url("", CertificateDocument.model_validate(signed["document"]), signed["signature"])
        query = parse_qs(urlsplit(url).query)  # what the certificate's QR code carries
        self.ids["qr_c"], self.ids["qr_s"] = query["c"][0], query["s"][0]

    def resolve(self, name: str) -> str:
        return self.ids.get(name, name)
