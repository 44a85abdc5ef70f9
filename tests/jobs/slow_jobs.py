"""Test-only job kinds; workers load them with JOB_EXTRA_MODULES=tests.jobs.slow_jobs.

Each run appends JSON lines (job, pid, event) to the file named by TEST_JOB_RUNS_LOG, so a
test can see which process ran which job, and when.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from course_supporter.jobs.registry import JobContext, register_job_kind

BLOCK_FIRST_ATTEMPT = "test_block_first_attempt"
RECORD_RUN = "test_record_run"


def record(ctx: JobContext, event: str) -> None:
    line = json.dumps(
        {"job": str(ctx.job_id), "pid": os.getpid(), "event": event, "at": time.time()}
    )
    # One short O_APPEND write per line: lines from several processes never interleave.
    with open(os.environ["TEST_JOB_RUNS_LOG"], "a") as log:
        log.write(line + "\n")


@register_job_kind(BLOCK_FIRST_ATTEMPT)
async def block_first_attempt(ctx: JobContext) -> dict[str, Any]:
    """Hangs on its first attempt (the test kills the worker then), finishes on the next."""
    record(ctx, "start")
    if ctx.attempt == 1:
        await asyncio.sleep(3600)
    record(ctx, "end")
    return {"attempt": ctx.attempt}


@register_job_kind(RECORD_RUN)
async def record_run(ctx: JobContext) -> dict[str, Any]:
    record(ctx, "start")
    await asyncio.sleep(0.3)
    record(ctx, "end")
    return {"pid": os.getpid()}
