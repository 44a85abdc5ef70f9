"""A course with a processed text material (pages 1-3) and a generated 2x2 structure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from course_supporter.authoring.service import save_generated_structure
from course_supporter.courses.models import Course
from course_supporter.materials.models import Material, MaterialStatus
from course_supporter.materials.service import document_fingerprint
from course_supporter.structuring.schemas import (
    Concept,
    CourseStructure,
    Exercise,
    Lesson,
    Module,
    PageReference,
)
from tests.conftest import ApiClient

DOCUMENT: dict[str, Any] = {
    "source_type": "text",
    "title": "Notes",
    "chunks": [
        {"kind": "paragraph", "text": f"Page {page} explains topic {page}.", "ref": {"page": page}}
        for page in (1, 2, 3)
    ],
    "metadata": {"page_count": 3},
}


@dataclass
class Course2x2:
    headers: dict[str, str]
    course_id: str
    material_id: str
    base: str

    async def read(self, api: ApiClient, **params: Any) -> dict[str, Any]:
        response = await api.http.get(self.base, headers=self.headers, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def if_match(self, api: ApiClient) -> dict[str, str]:
        version = (await self.read(api))["version"]
        return {**self.headers, "If-Match": f'"{version or 0}"'}


def structure(material_id: uuid.UUID) -> CourseStructure:
    return CourseStructure(
        title="Topics",
        modules=[
            Module(
                title=f"Module {m}",
                lessons=[
                    Lesson(
                        title=f"Lesson {m}.{n}",
                        concepts=[
                            Concept(
                                title=f"Topic {m}.{n}",
                                definition="What it is.",
                                page_references=[PageReference(material_id=material_id, page=1)],
                            )
                        ],
                        exercises=[
                            Exercise(
                                description=f"Explain topic {m}.{n}.",
                                reference_solution="It is what it is.",
                                grading_criteria=["Says what it is"],
                                difficulty=2,
                            )
                        ],
                    )
                    for n in (1, 2)
                ],
            )
            for m in (1, 2)
        ],
    )


async def seed_course(api: ApiClient, *, keep: int = 50) -> Course2x2:
    headers = {"X-API-Key": await api.new_key("prep")}
    created = await api.http.post("/api/v1/courses", json={"title": "Topics"}, headers=headers)
    assert created.status_code == 201, created.text
    course_id = uuid.UUID(created.json()["id"])
    material_id = uuid.uuid4()
    async with api.db.sessions() as session:
        course = await session.get_one(Course, course_id)
        session.add(
            Material(
                id=material_id,
                course_id=course_id,
                tenant_id=course.tenant_id,
                source_type="text",
                filename="notes.md",
                status=MaterialStatus.DONE,
                document=DOCUMENT,
                document_sha256=document_fingerprint(DOCUMENT),
            )
        )
        await session.flush()
        await save_generated_structure(
            session,
            course,
            structure(material_id),
            strategy="default",
            job_id=None,
            key_prefix="seed",
            keep=keep,
        )
        await session.commit()
    return Course2x2(headers, str(course_id), str(material_id), f"/api/v1/courses/{course_id}")
