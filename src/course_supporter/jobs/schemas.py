"""API shape of a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobProgress(BaseModel):
    done: int
    total: int | None
    phase: str


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    status: str
    attempts: int
    error: str | None
    result: dict[str, Any] | None
    progress: JobProgress | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
