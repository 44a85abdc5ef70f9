"""Files are parsed in a child process: a timeout, a CPU or a memory limit really stops it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.confined import ChildLimits, run_confined
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from tests.conftest import ApiClient
from tests.ingestion.conftest import many_paragraphs_docx
from tests.jobs.conftest import embedded_client, new_course, upload, wait_for_job

# Parsing this document takes ~20 s of CPU and ~350 MB: long enough to be stopped midway.
SLOW_PARAGRAPHS = 200_000


@pytest.fixture(scope="module")
def slow_docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return many_paragraphs_docx(tmp_path_factory.mktemp("slow") / "slow.docx", SLOW_PARAGRAPHS, 50)


@pytest.fixture
def slow_settings(settings: Settings) -> Settings:
    settings.ingest_max_docx_paragraphs = SLOW_PARAGRAPHS
    return settings


def _parsers() -> set[psutil.Process]:
    """Running parse children: the children of this process's forkserver."""
    found = set()
    for child in psutil.Process().children():
        try:
            if any("forkserver" in part for part in child.cmdline()):
                found.update(child.children())
        except psutil.NoSuchProcess:
            pass
    return found


class ParserWatch:
    """Records every parse child seen while a block runs, and their CPU time."""

    def __init__(self) -> None:
        self.seen: set[psutil.Process] = set()
        self.busiest_cpu = 0.0

    async def run(self) -> None:
        while True:
            for parser in _parsers():
                self.seen.add(parser)
                try:
                    times = parser.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                self.busiest_cpu = max(self.busiest_cpu, times.user + times.system)
            await asyncio.sleep(0.05)


@pytest.fixture
async def watch(docx_file: Path, settings: Settings) -> AsyncIterator[ParserWatch]:
    # The first parse starts the forkserver (imports take seconds); time only later ones.
    await _extract(docx_file, settings)
    watch = ParserWatch()
    task = asyncio.create_task(watch.run())
    yield watch
    task.cancel()


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


async def _assert_all_work_stopped(watch: ParserWatch) -> None:
    """This process does not keep a core busy, and no parser is left running."""
    before = _cpu_seconds()
    await asyncio.sleep(1.0)
    assert _cpu_seconds() - before < 0.3  # a leftover parsing thread would add ~1 s here
    assert watch.seen, "the parse did not run in a child process"
    assert not any(parser.is_running() for parser in watch.seen)


async def _extract(path: Path, settings: Settings) -> None:
    await extract_document("text", path=path, url=None, filename=path.name, settings=settings)


async def test_cancelling_the_extraction_kills_the_parser(
    slow_docx: Path, slow_settings: Settings, watch: ParserWatch
) -> None:
    # What JOB_TIMEOUT_SECONDS does: asyncio.timeout cancels the job's coroutine.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(3.0):
            await _extract(slow_docx, slow_settings)

    await _assert_all_work_stopped(watch)
    assert watch.busiest_cpu > 0.2, "the parser was stopped before it got going"


async def test_the_wall_clock_budget_stops_the_parser(
    slow_docx: Path, slow_settings: Settings, watch: ParserWatch
) -> None:
    slow_settings.ingest_extract_timeout_seconds = 2.0

    with pytest.raises(IngestionError, match=r"^Reading slow.docx took longer than 2 s") as error:
        await _extract(slow_docx, slow_settings)

    assert error.value.transient is False
    await _assert_all_work_stopped(watch)


async def test_the_cpu_budget_stops_the_parser(
    slow_docx: Path, slow_settings: Settings, watch: ParserWatch
) -> None:
    slow_settings.ingest_extract_cpu_seconds = 1

    with pytest.raises(IngestionError, match=r"more than 1 s of CPU time") as error:
        await _extract(slow_docx, slow_settings)

    assert error.value.transient is False
    await _assert_all_work_stopped(watch)


async def test_an_over_memory_parse_is_refused_and_the_worker_lives_on(
    slow_docx: Path, docx_file: Path, slow_settings: Settings
) -> None:
    slow_settings.ingest_extract_memory_bytes = 256 * 2**20
    rss_before = psutil.Process().memory_info().rss

    with pytest.raises(IngestionError, match=r"needs more than 256 MB of memory") as error:
        await _extract(slow_docx, slow_settings)

    assert error.value.transient is False
    assert psutil.Process().memory_info().rss - rss_before < 64 * 2**20
    await _extract(docx_file, slow_settings)  # the next material is read as usual


LIMITS = ChildLimits(cpu_seconds=10, memory_bytes=2**30, wall_seconds=30)


async def test_a_parser_that_crashes_fails_the_file_not_the_worker() -> None:
    # What a C parser does on a file it cannot handle; in a thread it took the worker down.
    with pytest.raises(
        IngestionError, match=r"^Reading deck.pdf stopped the parser \(exit code -6\)"
    ):
        await run_confined(os.abort, limits=LIMITS, label="deck.pdf")

    assert await run_confined(sum, [1, 2], limits=LIMITS, label="numbers") == 3


async def test_an_unexpected_error_in_the_child_comes_back_as_one() -> None:
    with pytest.raises(RuntimeError, match=r"^Reading x failed: ValueError: invalid literal"):
        await run_confined(int, "x", limits=LIMITS, label="x")


@pytest.fixture
async def api(sqlite_url: str, tmp_path: Path) -> AsyncIterator[ApiClient]:
    async with embedded_client(
        sqlite_url,
        tmp_path,
        job_timeout_seconds=3.0,
        ingest_max_docx_paragraphs=SLOW_PARAGRAPHS,
    ) as client:
        yield client


async def test_a_job_over_its_time_cap_leaves_no_parser_running(
    api: ApiClient, slow_docx: Path, watch: ParserWatch
) -> None:
    # The incident: the job was marked stopped while its thread kept a core busy for 45 s.
    headers, course_id = await new_course(api)
    created = await upload(api, headers, course_id, "slow.docx", slow_docx.read_bytes())

    job = await wait_for_job(api, headers, created["job_id"])

    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert job["error"] == "The job took longer than 3 s and was stopped"
    await _assert_all_work_stopped(watch)


async def test_a_document_over_a_limit_fails_once_with_the_limit_named(
    api: ApiClient, tmp_path: Path
) -> None:
    headers, course_id = await new_course(api)
    runaway = many_paragraphs_docx(tmp_path / "runaway.docx", SLOW_PARAGRAPHS + 1, 20)
    created = await upload(api, headers, course_id, "runaway.docx", runaway.read_bytes())

    job = await wait_for_job(api, headers, created["job_id"])

    assert (job["status"], job["attempts"]) == ("failed", 1)  # the document's fault: no retry
    assert job["error"] == (
        "runaway.docx has more than 200,000 paragraphs; split it into smaller documents"
    )
    material = await api.http.get(
        f"/api/v1/courses/{course_id}/materials/{created['id']}", headers=headers
    )
    assert (material.json()["status"], material.json()["error_message"]) == ("error", job["error"])
