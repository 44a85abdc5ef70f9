"""A course with a lesson, concepts that cite a real material, and exercises to answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from course_supporter.authoring.service import publish, save_generated_structure
from course_supporter.courses.models import Concept as ConceptRow
from course_supporter.courses.models import Course, Exercise
from course_supporter.courses.models import Lesson as LessonRow
from course_supporter.materials.models import Material, MaterialStatus
from course_supporter.structuring.schemas import (
    Concept,
    CourseStructure,
    Lesson,
    Module,
    PageReference,
)
from course_supporter.structuring.schemas import Exercise as ExerciseItem
from tests.conftest import ApiClient
from tests.jobs.conftest import wait_for_job

RECURSION = ExerciseItem(
    description="What is recursion, and what keeps it from running forever?",
    reference_solution="A function that calls itself; a base case stops the calls.",
    grading_criteria=["The function calls itself", "A base case stops the recursion"],
    difficulty=2,
)
UNGRADABLE = ExerciseItem(
    description="Reflect on the lesson.", reference_solution="", grading_criteria=[], difficulty=1
)


@dataclass
class Seeded:
    headers: dict[str, str]
    course_id: str
    exercise_id: str
    ungradable_id: str
    material_id: str
    deleted_material_id: str
    base_case_concept_id: str


async def seed_course(api: ApiClient, key: str | None = None) -> Seeded:
    """Created through the services the structuring job uses, without running a model."""
    headers = {"X-API-Key": key or await api.new_key()}
    created = await api.http.post("/api/v1/courses", json={"title": "Recursion"}, headers=headers)
    assert created.status_code == 201, created.text
    course_id = uuid.UUID(created.json()["id"])
    material_id, deleted_material_id = uuid.uuid4(), uuid.uuid4()
    async with api.db.transaction() as session:
        course = await session.get_one(Course, course_id)
        session.add(
            Material(
                id=material_id,
                course_id=course_id,
                tenant_id=course.tenant_id,
                source_type="text",
                filename="recursion.md",
                status=MaterialStatus.DONE,
            )
        )
        structure = CourseStructure(
            title="Recursion",
            modules=[
                Module(
                    title="Functions",
                    lessons=[
                        Lesson(
                            title="Recursion",
                            concepts=[
                                Concept(
                                    title="Recursive call",
                                    definition="A function calls itself on a smaller input.",
                                    page_references=[
                                        PageReference(material_id=material_id, page=2)
                                    ],
                                ),
                                Concept(
                                    title="Base case",
                                    definition="The case that stops the recursion without a call.",
                                    page_references=[
                                        PageReference(material_id=material_id, page=3),
                                        # A material the course no longer has: never pointed to.
                                        PageReference(material_id=deleted_material_id, page=9),
                                    ],
                                ),
                            ],
                            exercises=[RECURSION, UNGRADABLE],
                        )
                    ],
                )
            ],
        )
        await save_generated_structure(
            session, course, structure, strategy=None, job_id=None, key_prefix=None, keep=50
        )
        # Learners answer the published version.
        await publish(session, course.tenant_id, "seed", course_id, None)
        exercises = (
            await session.scalars(
                select(Exercise)
                .join(LessonRow, LessonRow.id == Exercise.lesson_id)
                .where(LessonRow.course_id == course_id)
                .order_by(Exercise.position)
            )
        ).all()
        base_case = await session.scalar(
            select(ConceptRow.id)
            .where(ConceptRow.title == "Base case")
            .where(ConceptRow.lesson_id == exercises[0].lesson_id)
        )
    return Seeded(
        headers=headers,
        course_id=str(course_id),
        exercise_id=str(exercises[0].id),
        ungradable_id=str(exercises[1].id),
        material_id=str(material_id),
        deleted_material_id=str(deleted_material_id),
        base_case_concept_id=str(base_case),
    )


async def submit(api: ApiClient, seeded: Seeded, answer: str, learner: str = "l-1") -> Any:
    return await api.http.post(
        f"/api/v1/exercises/{seeded.exercise_id}/submissions",
        json={"learner_ref": learner, "answer": answer},
        headers=seeded.headers,
    )


async def graded(api: ApiClient, seeded: Seeded, answer: str) -> dict[str, Any]:
    accepted = await submit(api, seeded, answer)
    assert accepted.status_code == 202, accepted.text
    job = await wait_for_job(api, seeded.headers, accepted.json()["job_id"])
    assert job["status"] == "succeeded", job
    read = await api.http.get(
        f"/api/v1/submissions/{accepted.json()['id']}", headers=seeded.headers
    )
    assert read.status_code == 200
    body: dict[str, Any] = read.json()
    assert body["status"] == "graded"
    return body
