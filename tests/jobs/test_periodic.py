"""Housekeeping schedules: intervals as cron, registered from the domains."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_supporter.jobs.queue import MAINTENANCE_QUEUE, RECOVER_STALLED, build_queue, cron_every
from course_supporter.jobs.registry import load_job_kinds
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (0.05, "* * * * * */1"),
        (30, "* * * * * */30"),
        (45, "* * * * * */30"),  # cron repeats evenly within a minute: rounded down
        (60, "*/1 * * * *"),
        (900, "*/15 * * * *"),
        (7 * 60, "*/6 * * * *"),
        (5 * 3600, "0 */4 * * *"),
        (3 * 86400, "0 0 * * *"),
    ],
)
def test_an_interval_becomes_the_nearest_cron_not_longer(seconds: float, cron: str) -> None:
    assert cron_every(seconds) == cron


def schedules(database_url: str, tmp_path: Path) -> dict[str, tuple[str, str]]:
    settings = make_settings(
        database_url, tmp_path, upload_sweep_interval_seconds=600, job_stalled_check_seconds=20
    )
    load_job_kinds(settings)
    queue = build_queue(settings)
    return {
        periodic_id: (task.task.queue, task.cron)
        for (_, periodic_id), task in queue.periodic_registry.periodic_tasks.items()
    }


def test_the_embedded_queue_sweeps_uploads(sqlite_url: str, tmp_path: Path) -> None:
    assert schedules(sqlite_url, tmp_path) == {
        "sweep_uploads": (MAINTENANCE_QUEUE, "*/10 * * * *"),
        "prune_events": (MAINTENANCE_QUEUE, "0 */1 * * *"),
    }


@pytest.mark.postgres
def test_the_durable_queue_also_recovers_stalled_jobs(postgres_url: str, tmp_path: Path) -> None:
    assert schedules(postgres_url, tmp_path) == {
        "sweep_uploads": (MAINTENANCE_QUEUE, "*/10 * * * *"),
        RECOVER_STALLED: (MAINTENANCE_QUEUE, "* * * * * */20"),
        "prune_events": (MAINTENANCE_QUEUE, "0 */1 * * *"),
    }
