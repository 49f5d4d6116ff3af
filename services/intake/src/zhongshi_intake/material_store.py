"""Where materials live: the files in GridFS, their records, expert assignments and download records, all in
intake's own database. GridFS cannot join a transaction, so a file is written before the transaction that
records it and deleted again when that transaction fails."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import datetime
from typing import Any

from bson import Binary
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_contracts.materials import MaterialKind, MaterialReference
from zhongshi_runtime.auth import Principal
from zhongshi_runtime.outbox import Session
from zhongshi_runtime.queries import find_by_ids

BUCKET = "material_files"  # GridFS: material_files.files and material_files.chunks
CHUNK = 255 * 1024  # GridFS's default chunk size


class Uploader(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    role: str
    organisation: str

    @classmethod
    def of(cls, principal: Principal) -> Uploader:
        return cls(subject=principal.subject, role=principal.role.value, organisation=principal.organisation)


class MaterialRecord(BaseModel):
    """One stored version of one material."""

    model_config = ConfigDict(frozen=True)

    id: str
    application_id: str
    kind: MaterialKind
    title: str
    filename: str
    media_type: str = Field(description="Sniffed from the content.")
    sha256: str
    size: int
    version: int = Field(1, description="1, then +1 for each replacement.")
    replaces: str | None = None
    uploaded_by: Uploader
    uploaded_at: datetime

    def reference(self) -> MaterialReference:
        return MaterialReference(id=self.id, kind=self.kind, title=self.title, sha256=self.sha256, size=self.size)


def new_record(application_id: str, content: bytes, **fields: Any) -> MaterialRecord:
    return MaterialRecord(id=f"M-{uuid.uuid4().hex[:16]}", application_id=application_id,
                          sha256=hashlib.sha256(content).hexdigest(), size=len(content), **fields)


class MaterialStore:
    """Files, records, assignments and download records in one database."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.db = db
        self.files = AsyncGridFSBucket(db, bucket_name=BUCKET)

    async def ensure_indexes(self) -> None:
        await self.db.materials.create_index([("application_id", ASCENDING), ("uploaded_at", ASCENDING)])
        await self.db.assignments.create_index([("application_id", ASCENDING)])
        await self.db.audit.create_index([("application_id", ASCENDING), ("at", ASCENDING)])
        # the indexes GridFS's own writer would check for on every upload
        await self.db[f"{BUCKET}.files"].create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
        await self.db[f"{BUCKET}.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)

    # ---- files ----
    async def put_file(self, record: MaterialRecord, content: bytes) -> None:
        """The file in GridFS's layout, read back through the bucket. PyMongo's GridFS writer asks each
        collection for any one document on every upload (to create its indexes on first use): a constant-time
        read on MongoDB, but one that reads the whole collection on the embedded database, so each upload got
        slower with every file stored. The indexes are created once at start-up instead."""
        chunks = [{"files_id": record.id, "n": n, "data": Binary(content[at:at + CHUNK])}
                  for n, at in enumerate(range(0, len(content), CHUNK))]
        if chunks:
            await self.db[f"{BUCKET}.chunks"].insert_many(chunks)
        try:  # the file document last: a file that is listed has all its chunks
            await self.db[f"{BUCKET}.files"].insert_one({
                "_id": record.id, "length": len(content), "chunkSize": CHUNK, "filename": record.filename,
                "uploadDate": record.uploaded_at, "metadata": {"application_id": record.application_id}})
        except BaseException:
            await self.db[f"{BUCKET}.chunks"].delete_many({"files_id": record.id})
            raise

    async def read_file(self, material_id: str) -> bytes:
        stream = await self.files.open_download_stream(material_id)
        return bytes(await stream.read())

    async def delete_file(self, material_id: str) -> None:
        with contextlib.suppress(NoFile):  # deleted already, or never written
            await self.files.delete(material_id)

    async def orphan_files(self, before: datetime) -> list[str]:
        """Files older than ``before`` that no record names (a crash between upload and commit)."""
        ids = [d["_id"] async for d in self.db[f"{BUCKET}.files"].find({"uploadDate": {"$lt": before}}, {"_id": 1})]
        recorded = {d["_id"] async for d in find_by_ids(self.db.materials, ids, {"_id": 1})}
        return [i for i in ids if i not in recorded]

    # ---- records ----
    async def add(self, record: MaterialRecord, session: Session = None) -> None:
        await self.db.materials.insert_one({"_id": record.id, **record.model_dump(mode="json"),
                                            "uploaded_at": record.uploaded_at}, session=session)

    async def get(self, material_id: str, session: Session = None) -> MaterialRecord | None:
        doc = await self.db.materials.find_one({"_id": material_id}, session=session)
        return MaterialRecord.model_validate(doc) if doc else None

    async def of_application(self, application_id: str, session: Session = None) -> list[MaterialRecord]:
        cursor = self.db.materials.find({"application_id": application_id}, session=session)
        return [MaterialRecord.model_validate(d) async for d in cursor.sort("uploaded_at", ASCENDING)]

    async def remove_records(self, application_id: str, session: Session = None) -> None:
        await self.db.materials.delete_many({"application_id": application_id}, session=session)

    # ---- expert assignments (from review's events) ----
    async def assign(self, application_id: str, expert_id: str, session: Session = None) -> None:
        """Assigned unless a decline arrived first (the two come on different topics, in any order)."""
        await self.db.assignments.update_one(
            {"_id": f"{application_id}/{expert_id}"},
            {"$setOnInsert": {"application_id": application_id, "expert_id": expert_id, "declined": False}},
            upsert=True, session=session)

    async def decline(self, application_id: str, expert_id: str, session: Session = None) -> None:
        await self.db.assignments.update_one(
            {"_id": f"{application_id}/{expert_id}"},
            {"$set": {"application_id": application_id, "expert_id": expert_id, "declined": True}},
            upsert=True, session=session)

    async def assigned(self, application_id: str, expert_id: str) -> bool:
        doc = await self.db.assignments.find_one({"_id": f"{application_id}/{expert_id}"})
        return doc is not None and not doc["declined"]

