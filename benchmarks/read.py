"""Structure reads: requests/s of `GET /api/v1/courses/{id}` against `GET /health/live`.

One uvicorn worker on a throwaway PostgreSQL database, load from another process. The course
holds a generated structure of 10 modules x 5 lessons x (5 concepts + 2 exercises), stored
the way the structure job stores it, and published; the reads use a `check` key, so they
serve the published version (a later draft edit does not change what they read). Also
measured: the same read revalidated with `If-None-Match` (304), which is what a polling
`check` client sends.

    .venv/bin/python benchmarks/read.py [--postgres-url URL] [--duration 5] [--rounds 2]

Target: ratio of at least 0.2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from http_load import DEFAULT_POSTGRES_URL, LIVE, measure, postgres_database, running_server

from course_supporter.authoring.service import publish, save_generated_structure
from course_supporter.config import Settings
from course_supporter.courses.models import Course
from course_supporter.db import Database
from course_supporter.structuring.schemas import (
    Concept,
    CourseStructure,
    Exercise,
    Lesson,
    Module,
    PageReference,
)
from course_supporter.tables import Base as _all_tables  # noqa: F401  (every FK target mapped)
from course_supporter.tenancy.service import issue_key

TARGET_RATIO = 0.2


def sample_structure(material_id: uuid.UUID) -> CourseStructure:
    def concept(m: int, lesson: int, c: int) -> Concept:
        return Concept(
            title=f"Concept {m}.{lesson}.{c}",
            definition="A concept is defined by the sentence that introduces it. " * 3,
            examples=["An example of it in use.", "Another example."],
            page_references=[PageReference(material_id=material_id, page=c + 1)],
        )

    def exercise(m: int, lesson: int, e: int) -> Exercise:
        return Exercise(
            description=f"Exercise {e} of lesson {m}.{lesson}: apply the concepts.",
            reference_solution="A worked solution of a few sentences. " * 4,
            grading_criteria=["Correct", "Complete", "Clear"],
            difficulty=e + 1,
        )

    modules = [
        Module(
            title=f"Module {m}",
            description="What this module covers.",
            learning_goal="What the learner can do afterwards.",
            lessons=[
                Lesson(
                    title=f"Lesson {m}.{lesson}",
                    concepts=[concept(m, lesson, c) for c in range(5)],
                    exercises=[exercise(m, lesson, e) for e in range(2)],
                )
                for lesson in range(5)
            ],
        )
        for m in range(10)
    ]
    return CourseStructure(title="Benchmark course", modules=modules)


async def seed_structure(database_url: str, course_id: uuid.UUID, tenant_name: str) -> str:
    """Generate and publish the structure; returns a `check` key of the course's tenant."""
    db = Database(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with db.transaction() as session:
            course = await session.get_one(Course, course_id)
            await save_generated_structure(
                session,
                course,
                sample_structure(uuid.uuid4()),
                strategy="default",
                job_id=None,
                key_prefix=None,
                keep=50,
            )
            await publish(session, course.tenant_id, "bench", course_id, None)
            issued = await issue_key(
                session, tenant_name, scopes="check", rate_prep=1, rate_check=1_000_000
            )
            return issued.raw_key
    finally:
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cs_read_"))
    try:
        with (
            postgres_database(options.postgres_url) as database_url,
            running_server(database_url, None, workdir) as (server, port, key, _env),
        ):
            base = f"http://127.0.0.1:{port}"
            prep = {"X-API-Key": key}
            course = httpx.post(f"{base}/api/v1/courses", json={"title": "Bench"}, headers=prep)
            course_id = course.json()["id"]
            tenant = httpx.get(f"{base}/api/v1/me", headers=prep).json()["tenant_name"]
            check_key = asyncio.run(seed_structure(database_url, uuid.UUID(course_id), tenant))
            headers = {"X-API-Key": check_key}
            read = httpx.get(f"{base}/api/v1/courses/{course_id}", headers=headers)
            assert read.json()["published_version"] == read.json()["version"] == 1
            modules = read.json()["structure"]["modules"]
            assert len(modules) == 10 and all(len(m["lessons"]) == 5 for m in modules)
            print(f"course document: {len(read.content):,} bytes, ETag {read.headers['etag']}")
            path = f"/api/v1/courses/{course_id}"
            cases = {
                LIVE: {},
                path: headers,
                f"{path} (304)": {**headers, "If-None-Match": read.headers["etag"]},
            }
            rates: dict[str, list[float]] = {name: [] for name in cases}
            for round_number in range(1, options.rounds + 1):
                for name, case_headers in cases.items():
                    result = measure(server, port, name.split(" ")[0], case_headers, options)
                    if result.errors:
                        raise RuntimeError(f"{name}: unexpected statuses {result.statuses}")
                    rates[name].append(result.rps)
                    print(
                        f"  round {round_number}  {name:<60} {result.rps:8.1f} req/s"
                        f"  server CPU {result.cpu_us_per_request:5.0f} us/request",
                        flush=True,
                    )
            live = sum(rates[LIVE]) / len(rates[LIVE])
            ratio = 0.0
            for name in (path, f"{path} (304)"):
                rps = sum(rates[name]) / len(rates[name])
                ratio = rps / live if name == path else ratio
                print(f"{name:<62} {rps:8.1f} req/s  ratio {rps / live:.2f} vs {live:.1f} live")
            verdict = "ok" if ratio >= TARGET_RATIO else "below target"
            print(f"read ratio {ratio:.2f} (target {TARGET_RATIO}: {verdict})")
            return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
