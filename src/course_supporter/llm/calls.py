"""Writes every model call attempt to `llm_calls`, so cost is accounted per tenant."""

from __future__ import annotations

from dataclasses import asdict

from course_supporter.db import Database
from course_supporter.llm.models import LLMCall
from course_supporter.llm.router import LLMCallRecord


class DatabaseCallRecorder:
    """Each record commits on its own: a job that fails later still leaves its calls counted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, call: LLMCallRecord) -> None:
        async with self.db.transaction() as session:
            session.add(LLMCall(**asdict(call)))
