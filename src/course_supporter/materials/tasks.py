"""Materials' housekeeping, run by the job workers."""

from __future__ import annotations

from course_supporter.jobs.registry import register_periodic_task
from course_supporter.materials.uploads import sweep_uploads

register_periodic_task("sweep_uploads", interval=lambda s: s.upload_sweep_interval_seconds)(
    sweep_uploads
)
