"""The authoring loop end to end, as a tenant and its learners' platform use it, timed per step.

One uvicorn process (jobs run in it) on a throwaway PostgreSQL database. A `prep` key uploads
the chapter "Common Programming Concepts" of The Rust Programming Language (the HTML pages
rustup installs, text no one here wrote), generates the course, fixes three things by hand (a
lesson title, a concept's definition, a generated exercise deleted), regenerates the module
holding the first two with instructions, checks the fixes survived and the deleted exercise
stayed away, diffs the generated version with the latest, and publishes. A `check` key of the
same tenant then reads the course and answers an exercise; a later draft edit stays invisible
to it until the next publication.

    .venv/bin/python benchmarks/walkthrough.py [--postgres-url URL] [--pages 6]

Prints each step's wall time and what it returned; exits 1 if any step breaks the loop's
promises (that is what the tests assert piecemeal; this is the whole path in one go).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from http_load import DEFAULT_POSTGRES_URL, postgres_database
from tests.api_server import run_api_server

RUST_BOOK = Path(
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/book"
)
JOB_TIMEOUT_SECONDS = 300.0


class Walk:
    """Runs and times the steps; keeps the table printed at the end."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.rows: list[tuple[str, float, str]] = []

    def step(self, name: str, action: Callable[[], str]) -> None:
        started = time.perf_counter()
        outcome = action()
        elapsed = (time.perf_counter() - started) * 1000
        self.rows.append((name, elapsed, outcome))
        print(f"  {name:<48} {elapsed:9.1f} ms  {outcome}", flush=True)

    def call(self, method: str, url: str, expect: int, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        if response.status_code != expect:
            raise SystemExit(f"{method} {url}: {response.status_code} {response.text[:400]}")
        return response

    def wait(self, headers: dict[str, str], job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.call(
                "GET", f"/api/v1/jobs/{job_id}", 200, headers=headers
            ).json()
            if job["status"] in ("succeeded", "failed"):
                if job["status"] == "failed":
                    raise SystemExit(f"job {job_id} failed: {job.get('error')}")
                return job
            time.sleep(0.1)
        raise SystemExit(f"job {job_id} did not finish in {JOB_TIMEOUT_SECONDS:.0f} s")


def _items(structure: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for module in structure["modules"]:
        if kind == "module":
            found[module["id"]] = module
        for lesson in module["lessons"]:
            if kind == "lesson":
                found[lesson["id"]] = lesson
            for item in lesson[f"{kind}s"] if kind in ("concept", "exercise") else []:
                found[item["id"]] = item
    return found


def walk(base_url: str, prep_key: str, check_key: str, pages: list[Path]) -> int:
    prep = {"X-API-Key": prep_key}
    check = {"X-API-Key": check_key}
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        w = Walk(client)
        state: dict[str, Any] = {}

        def course() -> dict[str, Any]:
            body: dict[str, Any] = w.call(
                "GET", f"/api/v1/courses/{state['course']}", 200, headers=prep
            ).json()
            state["etag"] = {"If-Match": f'"{body["version"]}"'}
            return body

        def create_and_upload() -> str:
            state["course"] = w.call(
                "POST", "/api/v1/courses", 201, json={"title": "Rust basics"}, headers=prep
            ).json()["id"]
            jobs = []
            for page in pages:
                created = w.call(
                    "POST",
                    f"/api/v1/courses/{state['course']}/materials",
                    201,
                    data={"source_type": "text"},
                    files={"file": (page.name, page.read_bytes(), "text/html")},
                    headers=prep,
                ).json()
                jobs.append(created["job_id"])
            for job_id in jobs:
                w.wait(prep, job_id)
            return f"{len(pages)} pages ingested"

        def generate() -> str:
            accepted = w.call(
                "POST", f"/api/v1/courses/{state['course']}/structure", 202, json={}, headers=prep
            )
            w.wait(prep, accepted.json()["job_id"])
            structure = course()["structure"]
            state["generated_version"] = course()["version"]
            lessons = sum(len(m["lessons"]) for m in structure["modules"])
            modules = len(structure["modules"])
            return f"version {state['generated_version']}: {modules} modules, {lessons} lessons"

        w.step("create course, upload, ingest", create_and_upload)
        w.step("generate", generate)
        structure = course()["structure"]
        module = max(structure["modules"], key=lambda m: len(m["lessons"]))
        lesson = next(les for les in module["lessons"] if les["concepts"])
        concept = lesson["concepts"][0]
        exercise = next(
            e for m in structure["modules"] for les in m["lessons"] for e in les["exercises"]
        )
        base = f"/api/v1/courses/{state['course']}"
        new_title = f"{lesson['title']} (reviewed)"
        new_definition = "The author's own definition, checked against the book."

        def fix(method: str, url: str, expect: int, **body: Any) -> Callable[[], str]:
            def run() -> str:
                course()
                response = w.call(method, url, expect, headers={**prep, **state["etag"]}, **body)
                return f"{response.status_code}, ETag {response.headers.get('etag', '-')}"

            return run

        w.step(
            "fix 1: rename a lesson",
            fix("PATCH", f"{base}/lessons/{lesson['id']}", 200, json={"title": new_title}),
        )
        w.step(
            "fix 2: rewrite a concept's definition",
            fix(
                "PATCH",
                f"{base}/concepts/{concept['id']}",
                200,
                json={"definition": new_definition},
            ),
        )
        w.step(
            "fix 3: delete a generated exercise",
            fix("DELETE", f"{base}/exercises/{exercise['id']}", 204),
        )

        def stale_etag() -> str:
            response = client.patch(
                f"{base}/lessons/{lesson['id']}",
                json={"title": "Lost update"},
                headers={**prep, "If-Match": f'"{state["generated_version"]}"'},
            )
            if response.status_code != 412:
                raise SystemExit(f"a stale ETag answered {response.status_code}, not 412")
            return "412 Precondition Failed (nothing written)"

        w.step("an edit with a stale ETag", stale_etag)

        def regenerate() -> str:
            accepted = w.call(
                "POST",
                f"{base}/modules/{module['id']}/regenerate",
                202,
                json={"instructions": "Shorter definitions; one exercise per lesson."},
                headers=prep,
            )
            job = w.wait(prep, accepted.json()["job_id"])
            return f"job {job['status']}; instructions: {job['result'].get('instructions')}"

        w.step("regenerate the module, with instructions", regenerate)
        after = course()
        failures = []
        if _items(after["structure"], "lesson").get(lesson["id"], {}).get("title") != new_title:
            failures.append("the renamed lesson lost its title")
        kept = _items(after["structure"], "concept").get(concept["id"], {})
        if kept.get("definition") != new_definition or kept.get("origin") != "edited":
            failures.append("the rewritten definition did not survive")
        if exercise["id"] in _items(after["structure"], "exercise") or any(
            e["description"] == exercise["description"]
            for e in _items(after["structure"], "exercise").values()
        ):
            failures.append("the deleted exercise came back")

        def diff() -> str:
            body = w.call(
                "GET",
                f"{base}/versions/{state['generated_version']}/diff/{after['version']}",
                200,
                headers=prep,
            ).json()
            fields = sorted({c["field"] for item in body["changed"] for c in item["changes"]})
            return (
                f"v{body['from_version']}->v{body['to_version']}: {len(body['added'])} added, "
                f"{len(body['removed'])} removed, {len(body['changed'])} changed "
                f"({', '.join(fields)}), {len(body['moved'])} moved"
            )

        w.step("diff generated -> latest", diff)

        def before_publishing() -> str:
            response = client.get(base, headers=check)
            if response.status_code != 409:
                raise SystemExit(f"check key before publishing: {response.status_code}")
            return "409: " + response.json()["detail"][:60]

        w.step("check key reads before publishing", before_publishing)

        def publish() -> str:
            body = w.call("POST", f"{base}/publication", 200, json={}, headers=prep).json()
            state["published"] = body["published_version"]
            return f"version {body['published_version']} published"

        w.step("publish", publish)

        def learner_read() -> str:
            body = w.call("GET", base, 200, headers=check).json()
            if body["version"] != state["published"]:
                failures.append("the check key did not read the published version")
            return f"version {body['version']}, {len(body['structure']['modules'])} modules"

        w.step("check key reads the course", learner_read)
        w.step(
            "a draft edit after publishing",
            fix("PATCH", f"{base}/lessons/{lesson['id']}", 200, json={"title": "Draft only"}),
        )

        def learner_again() -> str:
            body = w.call("GET", base, 200, headers=check).json()
            title = _items(body["structure"], "lesson")[lesson["id"]]["title"]
            if title != new_title:
                failures.append(f"the check key saw the draft title {title!r}")
            return f"still version {body['version']}: {title!r}"

        w.step("check key reads again", learner_again)

        def answer(text: str) -> Callable[[], str]:
            def run() -> str:
                published = w.call("GET", base, 200, headers=check).json()["structure"]
                target = next(iter(_items(published, "exercise").values()))
                answer = text or target["reference_solution"]
                accepted = w.call(
                    "POST",
                    f"/api/v1/exercises/{target['id']}/submissions",
                    202,
                    json={"learner_ref": "learner-1", "answer": answer},
                    headers=check,
                ).json()
                w.wait(check, accepted["job_id"])
                verdict = w.call(
                    "GET", f"/api/v1/submissions/{accepted['id']}", 200, headers=check
                ).json()["verdict"]
                if verdict["label"] != "correct" and not verdict["review"]:
                    failures.append("a wrong answer was sent nowhere to review")
                links = ", ".join(r.get("url") or r.get("page") or "?" for r in verdict["review"])
                score = f"{verdict['score']}/{verdict['max_points']}"
                return f"{verdict['label']} {score}; review: {links or '-'}"

            return run

        w.step("learner answers with the reference solution", answer(""))
        w.step("learner answers wrongly", answer("It prints 5 and then 6."))

    for failure in failures:
        print(f"FAIL: {failure}")
    print("walkthrough: " + ("ok" if not failures else f"{len(failures)} promise(s) broken"))
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--pages", type=int, default=6)
    options = parser.parse_args()
    pages = sorted(RUST_BOOK.glob("ch03-*.html"))[: options.pages]
    if not pages:
        print(f"no Rust book under {RUST_BOOK} (rustup installs it)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="cs_walk_"))
    try:
        with (
            postgres_database(options.postgres_url) as database_url,
            run_api_server(workdir, DATABASE_URL=database_url, EMBEDDED_WORKER="true") as server,
        ):
            prep_key = server.new_key()
            tenant = httpx.get(
                f"{server.base_url}/api/v1/me", headers={"X-API-Key": prep_key}
            ).json()["tenant_name"]
            issued = server.cli("keys", "create", "--tenant", tenant, "--scopes", "check", "--json")
            check_key: str = json.loads(issued)["key"]
            return walk(server.base_url, prep_key, check_key, pages)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
