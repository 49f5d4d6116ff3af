"""The application form (申报书) as a PDF: the dossier in sections, the screening verdict per clause, the
materials with checksums and the applicant's commitment.

The verdict is the one screening announced for the latest screened submission (`pilot.application.screened`,
kept in the timeline). Intake does not evaluate the rules itself: they belong to screening, and a second copy
could disagree with the verdict that counts. A draft's form says it has not been screened yet."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, Spacer
from zhongshi_contracts.materials import kind_label
from zhongshi_contracts.reference import CLUSTERS, LEGAL_PERSON_KIND_LABELS, PLATFORM_TYPE_LABELS, region
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.pdf import para, render, table

from zhongshi_intake.domain import Application, Round
from zhongshi_intake.material_store import MaterialRecord

COMMITMENT = (
    "本单位郑重承诺：所填报的申报信息和上传的全部申报材料真实、准确、完整，不存在弄虚作假、侵犯他人知识产权等"
    "情形；本单位近三年未发生重大安全、环保、质量事故，无严重失信行为。如有不实，本单位愿意承担相应的法律责任，"
    "并接受取消申报或认定资格等处理。"
)
STATUS_TEXT = {"pass": "符合", "fail": "不符合", "flagged": "待省级例外认定"}


def _yuan(value: Any) -> str:
    return f"{value:,.2f}元"


def _has(flag: bool) -> str:
    return "有" if flag else "无"


def _applicant(app: Application, with_contact: bool) -> list[Flowable]:
    a = app.dossier.applicant
    county = region(a.region_code)
    rows = [["申报主体", a.name], ["统一社会信用代码", a.credit_code],
            ["法人类型", LEGAL_PERSON_KIND_LABELS[a.legal_person_kind]],
            ["所在地", f"{county.city_name}{county.name}（{a.region_code}）"],
            ["联系人", f"{a.contact.name}  {a.contact.phone}  {a.contact.email}" if with_contact
             else "（评审专家不予显示）"]]
    return [para("一、申报主体", "heading"), table(rows, [40, 134])]


def _platform(app: Application) -> list[Flowable]:
    p = app.dossier.platform
    rows = [["平台名称", p.name], ["平台类型", PLATFORM_TYPE_LABELS[p.platform_type]],
            ["服务产业集群", "、".join(CLUSTERS[c][0] for c in p.clusters) or "无"],
            ["正式运行时间", p.operating_since.isoformat()],
            ["中试线或试验场地", p.pilot_line_description or ("有" if p.has_pilot_line_or_test_site else "无")],
            ["安全/环保配套", f"{_has(p.safety_facilities)}/{_has(p.environmental_facilities)}"],
            ["设备原值", _yuan(p.equipment_original_value)], ["试验场地面积", f"{p.site_area_m2}平方米"],
            ["专业人才", f"{p.professionals.total}人（管理{p.professionals.management}、研发{p.professionals.rd}、"
                        f"检测{p.professionals.testing}、质量{p.professionals.quality}）"]]
    story: list[Flowable] = [para("二、平台基本情况", "heading"), table(rows, [40, 134])]
    if p.partners:
        partners = [["共建方", "投入", "知识产权分配", "收益分配"]] + [
            [x.name, _yuan(x.investment), f"{x.ip_share_percent}%", f"{x.revenue_share_percent}%"] for x in p.partners]
        story += [Spacer(1, 6), table(partners, [70, 40, 32, 32], header=True)]
    return story


def _outcomes(app: Application) -> list[Flowable]:
    o = app.dossier.outcomes
    rows = [["日期", "技术成果转化项目", "服务对象"]] + [[t.date.isoformat(), t.title, t.client]
                                                    for t in o.technology_transfers]
    revenue = [["期间", "中试服务收入"]] + [[f"{r.period_start}至{r.period_end}", _yuan(r.amount)]
                                        for r in o.service_revenue]
    return [para("三、服务成效", "heading"), table(rows, [26, 100, 48], header=True), Spacer(1, 6),
            table(revenue, [80, 94], header=True)]


def _verdict(app: Application) -> list[Flowable]:
    story: list[Flowable] = [para("四、形式审查结果（按申报条件逐条）", "heading")]
    screened = [t for t in app.timeline if t.event_type.endswith(".screened")]
    if not screened:
        return [*story, para("尚未进行形式审查（提交后由系统按本批次规则集逐条审查）。提交前可使用自查功能。")]
    latest = screened[-1].details
    story.append(para(f"第{latest['revision']}次提交，规则集 {latest['rule_set_version']}"))
    rows = [["条件", "内容", "实测", "结果"]] + [
        [c["clause"], c["title"], c["measured"], STATUS_TEXT.get(c["status"], c["status"])
         + ("" if c["status"] == "pass" else f"：{c['reason']}")] for c in latest["clauses"]]
    return [*story, table(rows, [14, 56, 56, 48], header=True)]


def _materials(records: list[MaterialRecord], app: Application) -> list[Flowable]:
    listed = {m.id for m in app.materials}
    rows = [["类别", "名称 / 文件", "大小", "SHA-256"]] + [
        [kind_label(r.kind), f"{r.title}（第{r.version}版{'' if r.id in listed else '，已被替换'}）；文件 {r.filename}",
         f"{r.size:,}字节", r.sha256] for r in records]
    body = table(rows, [28, 58, 22, 66], header=True) if records else para("尚未上传申报材料。")
    return [para("五、申报材料清单", "heading"), body]


def form_pdf(app: Application, round_: Round | None, records: list[MaterialRecord], with_contact: bool = True
             ) -> bytes:
    """The printable application form of ``app``; without the contact person's name, phone and e-mail for an
    expert (a reviewer has no business contacting the applicant, and the review is independent of it)."""
    round_title = round_.title if round_ else app.round_id
    story: list[Flowable] = [
        para("湖北省制造业中试平台认定申报书", "title"),
        para(f"批次：{round_title}　申报编号：{app.id}　状态：{app.status_label}", "small"),
        para(f"生成日期：{shanghai_date(app.updated_at).isoformat()}", "small"),
        *_applicant(app, with_contact), *_platform(app), *_outcomes(app), *_verdict(app), *_materials(records, app),
        para("六、申报单位承诺", "heading"), para(COMMITMENT), Spacer(1, 18),
        para(f"申报单位（盖章）：{app.dossier.applicant.name}　　　　法定代表人（签字）：　　　　　　日期："),
    ]
    return render(story, title=f"申报书 {app.id}", subject=app.dossier.platform.name)
