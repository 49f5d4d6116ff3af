"""Materials use cases: upload, list, download, delete a draft, purge after retention. Plain functions over
the stores, so routes stay thin."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from pymongo import AsyncMongoClient
from zhongshi_contracts.events import Event
from zhongshi_contracts.lifecycle import EDITABLE
from zhongshi_contracts.materials import MATERIAL_KINDS
from zhongshi_runtime.audit import Actor, Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role
from zhongshi_runtime.clock import Clock, shanghai_date, utc_now
from zhongshi_runtime.errors import NotFound
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import MongoUnitOfWork, Outcome, Session, UnitOfWork, record_read

from zhongshi_intake import domain
from zhongshi_intake.domain import Application, Status, Stored
from zhongshi_intake.material_store import MaterialRecord, MaterialStore, Uploader, new_record
from zhongshi_intake.repository import IntakeRepository, MongoIntakeRepository
from zhongshi_intake.settings import IntakeSettings
from zhongshi_intake.sniff import Limits, Refused, safe_filename, sniff

log = logging.getLogger("zhongshi.intake.materials")
# Applications that ended without accreditation or listing; a draft or returned one never finished the round.
UNSUCCESSFUL = [s.value for s in (Status.DRAFT, Status.RETURNED, Status.WITHDRAWN, Status.REJECTED, Status.DECLINED,
                                  Status.REVIEW_DECLINED, Status.OBJECTION_UPHELD)]


class NotDue(Exception):
    """The round's retention period has not passed."""


@dataclass(frozen=True)
class Materials:
    """What the use cases work with."""

    repo: IntakeRepository
    store: MaterialStore
    uow: UnitOfWork
    clock: Clock
    settings: IntakeSettings

    @property
    def limits(self) -> Limits:
        return Limits(max_bytes=self.settings.material_max_bytes,
                      max_unpacked_bytes=self.settings.office_max_unpacked_bytes)


@dataclass(frozen=True)
class Upload:
    kind: str
    title: str
    filename: str
    content: bytes
    replaces: str | None = None


async def readable(ctx: Materials, application_id: str, principal: Principal) -> Application:
    """The application if the caller may read its materials, else 404 (its existence is not revealed)."""
    app = await ctx.repo.get(application_id)
    if app is None or not await may_read(ctx, principal, app):
        raise NotFound(f"申报 {application_id} 不存在")
    return app


async def own(ctx: Materials, application_id: str, principal: Principal) -> Application:
    """The caller's own application, else 404."""
    app = await ctx.repo.get(application_id)
    if app is None or app.applicant_credit_code != principal.organisation:
        raise NotFound(f"申报 {application_id} 不存在")
    return app


async def may_read(ctx: Materials, principal: Principal, app: Application) -> bool:
    """Applicant (own), officials covering it, an expert while assigned and not declined; nobody else."""
    if principal.role is Role.APPLICANT:
        return app.applicant_credit_code == principal.organisation
    if principal.role in OFFICIALS:
        return principal.covers_region(app.region_code)
    if principal.role is Role.EXPERT:
        return await ctx.store.assigned(app.id, principal.organisation)
    return False


def check_upload(ctx: Materials, upload: Upload, used: int) -> str:
    """The sniffed media type, or `Refused` naming what is wrong; nothing is stored before this passes."""
    if upload.kind not in MATERIAL_KINDS:
        raise Refused(422, f"材料类别 {upload.kind} 不存在，可选：{'、'.join(MATERIAL_KINDS)}", field="kind")
    media_type = sniff(upload.content, ctx.limits)
    check_room(ctx, upload, used)
    return media_type


def check_room(ctx: Materials, upload: Upload, used: int) -> None:
    """`Refused` when the application's stored versions (``used`` bytes) and this one exceed its allowance."""
    total, limit = used + len(upload.content), ctx.settings.application_materials_max_bytes
    if total > limit:
        raise Refused(422, f"本申报的材料合计将达{total}字节，超过每份申报上限{limit}字节")


async def stored_of(ctx: Materials, app: Application, session: Session = None) -> Stored:
    """What the application's materials take in storage: kept on it, or counted from the records for one saved
    before intake kept it."""
    if app.stored is not None:
        return app.stored
    records = await ctx.store.of_application(app.id, session)
    return Stored(total=sum(r.size for r in records), versions={r.id: r.version for r in records})


async def upload(ctx: Materials, app: Application, principal: Principal, item: Upload, audit: Audit
                 ) -> MaterialRecord:
    """Store the file, then list it on the application (and audit it) in one transaction; a failed transaction
    leaves no file."""
    if app.status not in EDITABLE:
        raise domain.TransitionRefused(f"申报当前状态为“{app.status_label}”，材料已随申报冻结，不能上传")
    if item.replaces is not None and item.replaces not in {m.id for m in app.materials}:
        raise Refused(422, f"申报中没有材料 {item.replaces}，无法替换", field="replaces")
    media_type = check_upload(ctx, item, (await stored_of(ctx, app)).total)  # before any file
    record = new_record(
        app.id, item.content, kind=item.kind, title=item.title, filename=safe_filename(item.filename, media_type),
        media_type=media_type, replaces=item.replaces, uploaded_by=Uploader.of(principal), uploaded_at=ctx.clock())

    async def work(session: Session) -> Outcome[MaterialRecord]:
        """Checked again on what the transaction reads: uploads at once to one application all save it, so they
        conflict, and the second runs again on what the first stored (its allowance, a replaced version)."""
        current = await ctx.repo.get(app.id, session)
        if current is None:
            raise domain.TransitionRefused(f"申报 {app.id} 已不存在")
        stored = await stored_of(ctx, current, session)
        check_room(ctx, item, stored.total)
        kept = record.model_copy(update={"version": stored.next_version(item.replaces)})
        try:
            attached = domain.attach(current, kept.reference(), stored=stored, replaces=item.replaces,
                                     now=kept.uploaded_at)
        except ValueError as exc:  # the replaced material went away since it was checked
            raise Refused(422, str(exc), field="replaces") from None
        await ctx.repo.save(attached, session)
        await ctx.store.add(kept, session)
        audit.target_id, audit.outcome = kept.id, f"{kept.kind} v{kept.version} {kept.sha256[:12]}"
        return Outcome(kept)

    await ctx.store.put_file(record, item.content)
    try:
        return await ctx.uow.run(work, audit=audit)
    except BaseException:
        await ctx.store.delete_file(record.id)  # GridFS is outside the transaction: clean up its chunks
        raise


async def download(ctx: Materials, app: Application, material_id: str, audit: Audit
                   ) -> tuple[MaterialRecord, bytes]:
    """The record and bytes of one of ``app``'s materials, the download audited first; 404 if unknown."""
    record = await ctx.store.get(material_id)
    if record is None or record.application_id != app.id:
        raise NotFound(f"材料 {material_id} 不存在")
    await record_read(ctx.uow, audit)
    return record, await ctx.store.read_file(material_id)


async def delete_draft(ctx: Materials, app: Application, audit: Audit) -> list[str]:
    """Delete a never-submitted draft with its records in one transaction, then its files."""
    domain.deletable(app)
    records = await ctx.store.of_application(app.id)

    async def work(session: Session) -> list[Event]:
        current = await ctx.repo.get(app.id, session)
        if current is not None:
            domain.deletable(current)
            await ctx.repo.delete(app.id, session)
            await ctx.store.remove_records(app.id, session)
        return []

    audit.outcome = f"{len(records)} 份材料"
    await ctx.uow.run(work, audit=audit)
    for record in records:
        await ctx.store.delete_file(record.id)
    return [r.id for r in records]


@dataclass(frozen=True)
class Purged:
    application_id: str
    status: str
    material_ids: list[str]
    bytes: int


async def purge(ctx: Materials, round_id: str, *, dry_run: bool = False) -> list[Purged]:
    """Remove the materials of the round's unsuccessful applications once the retention period after the round
    closed has passed (`NotDue` before); every removal is logged. Records and listings go first, in one
    transaction per application, then the files."""
    round_ = await ctx.repo.round(round_id)
    if round_ is None:
        raise LookupError(f"批次 {round_id} 不存在")
    due = round_.closes_on + timedelta(days=ctx.settings.material_retention_days)
    if shanghai_date(ctx.clock()) <= due:
        raise NotDue(f"批次 {round_id} 的材料保存期至 {due.isoformat()}，期满后方可清理")
    removed = []
    async for doc in ctx.store.db.applications.find({"round_id": round_id, "status": {"$in": UNSUCCESSFUL}}):
        records = await ctx.store.of_application(doc["_id"])
        if not records:
            continue
        if not dry_run:
            await _forget(ctx, doc["_id"])
            for record in records:
                await ctx.store.delete_file(record.id)
        item = Purged(doc["_id"], doc["status"], [r.id for r in records], sum(r.size for r in records))
        log.info("purged materials of %s (%s): %d files, %d bytes%s", item.application_id, item.status,
                 len(records), item.bytes, " (dry run)" if dry_run else "")
        removed.append(item)
    return removed


async def _forget(ctx: Materials, application_id: str) -> None:
    async def work(session: Session) -> list[Event]:
        current = await ctx.repo.get(application_id, session)
        if current is not None:
            await ctx.repo.save(current.model_copy(update={"materials": []}), session)
        await ctx.store.remove_records(application_id, session)
        return []

    purger = Actor("operator:cli", Role.OPERATOR.value, "*", "运维（材料清理命令）")
    await ctx.uow.run(work, audit=Audit(purger, "materials.purge", "application", application_id,
                                        application_ids=[application_id]))


async def sweep_orphans(ctx: Materials, older_than: timedelta = timedelta(hours=1)) -> list[str]:
    """Delete files no record names (the process died between upload and commit)."""
    orphans = await ctx.store.orphan_files(ctx.clock() - older_than)
    for material_id in orphans:
        await ctx.store.delete_file(material_id)
        log.info("deleted orphan material file %s", material_id)
    return orphans


async def purge_round(mongodb_uri: str, database: str, round_id: str, *, dry_run: bool = False
                      ) -> tuple[list[Purged], list[str]]:
    """The operator command's work: purge a round's unsuccessful applications' materials, then sweep orphans."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        db = client[database]
        uow = MongoUnitOfWork(client, db, source="/zhongshi/intake", metrics=RuntimeMetrics("intake-cli"),
                              on_outbox=lambda: None)
        ctx = Materials(repo=MongoIntakeRepository(db), store=MaterialStore(db), uow=uow, clock=utc_now,
                        settings=IntakeSettings())
        removed = await purge(ctx, round_id, dry_run=dry_run)
        return removed, [] if dry_run else await sweep_orphans(ctx)
    finally:
        await client.close()
