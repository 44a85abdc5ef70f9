"""What several test modules share: a test module imports these, never another test module."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3

from course_supporter.config import Settings
from course_supporter.storage.signed_urls import SECRET_FILENAME
from tests.conftest import ApiClient


async def new_course(api: ApiClient, title: str = "C") -> tuple[dict[str, str], str]:
    """A new tenant's prep+check key (as headers) and a course of that tenant."""
    headers = {"X-API-Key": await api.new_key()}
    course = await api.http.post("/api/v1/courses", json={"title": title}, headers=headers)
    assert course.status_code == 201, course.text
    return headers, course.json()["id"]


def stored_keys(settings: Settings) -> list[str]:
    """Every object in the deployment's storage; on S3 no multipart upload may be left open."""
    if settings.storage_backend == "s3":
        s3 = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            region_name="us-east-1",
        )
        listing = s3.list_objects_v2(Bucket=settings.s3_bucket)
        uploads = s3.list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads", [])
        assert uploads == [], "a multipart upload was left open"
        return [item["Key"] for item in listing.get("Contents", [])]
    root = Path(settings.storage_dir)
    if not root.exists():
        return []
    # The signing secret of direct-upload URLs lives in the directory but is no object.
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p != root / SECRET_FILENAME
    ]


# The command line as a user runs it: a fresh interpreter in `cwd`, with only PATH and HOME.
def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course_supporter", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]


# A valid body for every operation that takes one: the isolation walk and the request-body
# checks send these to every secured operation of the OpenAPI document.
SAMPLE_BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/courses"): {"title": "Isolation"},
    ("patch", "/api/v1/courses/{course_id}"): {"title": "Stolen"},
    ("post", "/api/v1/courses/{course_id}/materials"): {
        "source_type": "web",
        "source_url": "https://example.com/lecture",
    },
    ("post", "/api/v1/courses/{course_id}/slide-mapping"): {
        "mappings": [{"slide_number": 1, "video_timecode": "00:01:05"}]
    },
    ("post", "/api/v1/courses/{course_id}/structure"): {"strategy": "default"},
    ("post", "/api/v1/courses/{course_id}/modules/{module_id}/regenerate"): {"instructions": "x"},
    ("post", "/api/v1/courses/{course_id}/lessons/{lesson_id}/regenerate"): {"instructions": "x"},
    ("put", "/api/v1/courses/{course_id}/materials/{material_id}"): {},
    ("post", "/api/v1/courses/{course_id}/uploads"): {
        "source_type": "text",
        "filename": "notes.md",
        "size_bytes": 10,
    },
    ("post", "/api/v1/courses/{course_id}/uploads/{upload_id}/complete"): {},
    ("post", "/api/v1/courses/{course_id}/exercises"): {
        "lesson_id": str(uuid.uuid4()),
        "description": "Stolen exercise",
    },
    ("patch", "/api/v1/courses/{course_id}/exercises/{exercise_id}"): {"max_points": 1},
    ("post", "/api/v1/courses/{course_id}/modules"): {"title": "Stolen module"},
    ("patch", "/api/v1/courses/{course_id}/modules/{module_id}"): {"title": "Stolen"},
    ("post", "/api/v1/courses/{course_id}/lessons"): {
        "module_id": str(uuid.uuid4()),
        "title": "Stolen lesson",
    },
    ("patch", "/api/v1/courses/{course_id}/lessons/{lesson_id}"): {"title": "Stolen"},
    ("post", "/api/v1/courses/{course_id}/concepts"): {
        "lesson_id": str(uuid.uuid4()),
        "title": "Stolen concept",
        "definition": "Stolen",
    },
    ("patch", "/api/v1/courses/{course_id}/concepts/{concept_id}"): {"title": "Stolen"},
    ("post", "/api/v1/courses/{course_id}/structure/edits"): {
        "edits": [{"op": "create", "kind": "module", "fields": {"title": "Stolen"}}]
    },
    ("post", "/api/v1/courses/{course_id}/versions/{version}/restore"): None,
    ("post", "/api/v1/courses/{course_id}/publication"): {"version": 1},
    ("post", "/api/v1/exercises/{exercise_id}/submissions"): {"learner_ref": "l", "answer": "a"},
    ("post", "/api/v1/exercises/{exercise_id}/submissions/batch"): {
        "submissions": [{"learner_ref": "l", "answer": "a"}]
    },
    ("put", "/api/v1/submissions/{submission_id}/review"): {"score": 1, "comment": "c"},
    ("post", "/api/v1/courses/{course_id}/lessons/{lesson_id}/quiz/answers"): {
        "learner_ref": "l",
        "answers": [{"item_id": str(uuid.uuid4()), "choice": "a"}],
    },
    ("post", "/api/v1/webhooks"): {
        "url": "https://example.com/hook",
        "event_types": ["job.failed"],
        "description": "Isolation",
    },
}


def tenant_operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    operations = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if operation.get("security"):
                operations.append((method, path, operation))
    return operations
