"""Authoring rules: edits of the draft, versions, diffs, restore and publication."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.authoring import repository
from course_supporter.authoring.diff import diff_documents
from course_supporter.authoring.draft import (
    COLUMN,
    DEFAULTS,
    KIND_OF,
    Draft,
    Item,
    validated_fields,
    where,
)
from course_supporter.authoring.models import (
    PublicationAction,
    StructurePublication,
    StructureTombstone,
    StructureVersion,
)
from course_supporter.authoring.models import VersionKind as VersionKind
from course_supporter.authoring.schemas import (
    FIELDS,
    REQUIRED,
    Edit,
    EditResult,
    VersionDiff,
)
from course_supporter.authoring.tombstones import tombstone_key
from course_supporter.courses.models import (
    Concept,
    Course,
    CourseStructureRecord,
    Exercise,
    Lesson,
    Module,
    Origin,
)
from course_supporter.courses.service import get_course
from course_supporter.courses.structure import (
    SavedStructure,
    concept_document,
    exercise_document,
    lesson_document,
    module_document,
    render_document,
    replace_structure,
)
from course_supporter.db import new_id, utcnow
from course_supporter.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from course_supporter.events.service import STRUCTURE_VERSION_CREATED, record_event
from course_supporter.ingestion.document import SourceDocument
from course_supporter.ingestion.merge import MaterialDocument, build_course_context
from course_supporter.materials.service import (
    document_fingerprints,
    processed_materials,
    slide_mappings,
)
from course_supporter.structuring.references import missing_locations
from course_supporter.structuring.schemas import CourseStructure, parse_timecode
from course_supporter.structuring.schemas import Lesson as LessonShape

MODEL_OF: dict[str, type[Item]] = {
    "module": Module,
    "lesson": Lesson,
    "concept": Concept,
    "exercise": Exercise,
}
REFERENCE_FIELDS = frozenset(
    {"video_material_id", "video_start", "video_end", "slides_material_id", "slide_start",
     "slide_end", "timecodes", "slide_references", "page_references", "web_references"}
)  # fmt: skip


def structure_etag(version: int) -> str:
    """The structure's ETag: its version number, quoted. `"0"` before any structure exists."""
    return f'"{version}"'


def _expected_version(if_match: str | None) -> int:
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError(
            'Send If-Match with the structure ETag (its version, e.g. "7"; "0" before any '
            "structure exists) so that no one else's edit is lost"
        )
    value = if_match.strip()
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailedError(
            f"If-Match {if_match!r} is not a structure ETag: send the structure version, "
            'quoted, e.g. "7"'
        )
    return int(value)


# Versions


async def record_version(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    record: CourseStructureRecord,
    *,
    kind: VersionKind,
    key_prefix: str | None,
    job_id: uuid.UUID | None,
    keep: int,
) -> StructureVersion:
    """Snapshot the course's current structure record as its version `record.version`."""
    version = StructureVersion(
        course_id=record.course_id,
        number=record.version,
        kind=kind,
        key_prefix=key_prefix,
        fingerprints=await document_fingerprints(session, tenant_id, record.course_id),
        document_json=record.document_json,
        job_id=job_id,
    )
    session.add(version)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Two writers built on the same version (SQLite reads before it locks): one loses.
        raise PreconditionFailedError(
            "The structure changed while this edit was applied; read it again and retry"
        ) from exc
    await repository.prune_versions(
        session, record.course_id, keep=keep, published=record.published_version
    )
    record_event(
        session,
        tenant_id,
        STRUCTURE_VERSION_CREATED,
        record.course_id,
        {
            "course_id": str(record.course_id),
            "version": version.number,
            "kind": str(kind),
            "key_prefix": key_prefix,
            "job_id": None if job_id is None else str(job_id),
        },
    )
    return version


async def save_generated_structure(
    session: AsyncSession,
    course: Course,
    structure: CourseStructure,
    *,
    strategy: str | None,
    job_id: uuid.UUID | None,
    key_prefix: str | None,
    keep: int,
    kind: VersionKind = VersionKind.GENERATED,
) -> SavedStructure:
    """Replace the course's structure with a generated one and record it as a version."""
    saved = await replace_structure(session, course, structure, strategy=strategy, job_id=job_id)
    record = await repository.lock_record(session, course.id)
    assert record is not None
    await record_version(
        session,
        course.tenant_id,
        record,
        kind=kind,
        key_prefix=key_prefix,
        job_id=job_id,
        keep=keep,
    )
    return saved


@dataclass(frozen=True)
class EditOutcome:
    version: int
    results: list[EditResult]
    document: dict[str, Any]


async def apply_edits(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    key_prefix: str,
    course_id: uuid.UUID,
    if_match: str | None,
    edits: Sequence[Edit],
    *,
    keep: int,
    single: bool = False,
) -> EditOutcome:
    """Apply every edit to the draft or none, as one new version (kind `edited`)."""
    course = await get_course(session, tenant_id, course_id)
    expected = _expected_version(if_match)
    record = await repository.lock_record(session, course_id)
    current = record.version if record else 0
    if expected != current:
        raise PreconditionFailedError(
            f"The structure is at version {current}, not {expected}: someone changed it "
            "first; read it again and apply your edit to what is there now"
        )
    if record is not None and all(_in_place(edit) for edit in edits):
        return await _apply_in_place(
            session, tenant_id, key_prefix, record, edits, keep=keep, single=single
        )
    draft = await repository.load_draft(session, course_id)
    results: list[EditResult] = []
    touched: list[Item] = []
    created: list[Item] = []
    # Nothing reaches the database before every edit is applied and checked: a query in
    # between would flush a row that points at a parent not inserted yet.
    with session.no_autoflush:
        for number, edit in enumerate(edits):
            index = None if single else number
            item = _apply(draft, edit, index, created)
            results.append(EditResult(op=edit.op, kind=edit.kind, id=item.id))
            if edit.op != "delete":
                touched.append(item)
        await _check_ids_free(session, created)
        _check_shape(draft, record)
        await _check_references(session, tenant_id, course_id, draft, touched, edits)
        _check_concept_links(draft)
        draft.renumber()
    await _write_rows(session, course_id, draft, created)
    record = await _write_document(session, course, record, draft)
    await record_version(
        session, tenant_id, record, kind=VersionKind.EDITED, key_prefix=key_prefix, job_id=None,
        keep=keep,
    )  # fmt: skip
    return EditOutcome(record.version, results, json.loads(record.document_json))


async def _write_rows(
    session: AsyncSession, course_id: uuid.UUID, draft: Draft, created: list[Item]
) -> None:
    """New rows level by level (parents first), then changes, then deletions, each flushed
    apart: the tables have no ORM relationships to order them."""
    live = [item for item in created if item.id in draft.items]
    for level in (Module, Lesson, (Concept, Exercise)):
        rows = [item for item in live if isinstance(item, level)]
        session.add_all(rows)
        if rows:
            await session.flush(rows)
    await session.flush()
    for item in draft.removed:
        if item.origin == Origin.GENERATED and item not in created:
            kind = KIND_OF[type(item)]
            text = item.description if isinstance(item, Exercise) else item.title
            session.add(
                StructureTombstone(
                    course_id=course_id, kind=kind, match_key=tombstone_key(kind, text)
                )
            )
    # The database deletes what hangs below a deleted item (ON DELETE CASCADE).
    for item in draft.deleted:
        if item not in created:
            await session.delete(item)
    await session.flush()


def _in_place(edit: Edit) -> bool:
    """An update that moves nothing: only its own rows and its place in the document change."""
    return edit.op == "update" and not {"position", "module_id", "lesson_id"} & edit.fields.keys()


async def _apply_in_place(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    key_prefix: str,
    record: CourseStructureRecord,
    edits: Sequence[Edit],
    *,
    keep: int,
    single: bool,
) -> EditOutcome:
    """Field changes only: load just the items named and patch them into the document.

    Editing one lesson title of a 10x5 course this way costs a fraction of loading and
    rendering the whole draft (benchmarks/authoring.py)."""
    course_id = record.course_id
    wanted: dict[str, set[uuid.UUID]] = {}
    for edit in edits:
        if edit.id is not None:
            wanted.setdefault(edit.kind, set()).add(edit.id)
    found = await repository.items_by_id(session, course_id, wanted)
    draft = Draft(course_id, [], items=dict(found))
    document = json.loads(record.document_json)
    results: list[EditResult] = []
    touched: list[Item] = []
    with session.no_autoflush:
        for number, edit in enumerate(edits):
            index = None if single else number
            touched.append(_apply(draft, edit, index, []))
            results.append(EditResult(op=edit.op, kind=edit.kind, id=touched[-1].id))
        await _check_references(session, tenant_id, course_id, draft, touched, edits)
        concepts = {
            concept["id"]
            for module in document["modules"]
            for lesson in module["lessons"]
            for concept in lesson["concepts"]
        }
        for item in touched:
            unknown = [c for c in getattr(item, "concept_ids", []) if c not in concepts]
            if unknown:
                raise InvalidInputError(
                    f"not concepts of this course: {', '.join(unknown)}",
                    loc=("body", "concept_ids"),
                )
    await session.flush()
    for item in touched:
        _patch_document(document, item)
    await _store_next_version(
        session, tenant_id, record, document, kind=VersionKind.EDITED, key_prefix=key_prefix,
        keep=keep,
    )  # fmt: skip
    return EditOutcome(record.version, results, document)


async def _store_next_version(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    record: CourseStructureRecord,
    document: dict[str, Any],
    *,
    kind: VersionKind,
    key_prefix: str,
    keep: int,
) -> StructureVersion:
    """`document` as the draft's next version: numbered, rendered into the record, recorded."""
    record.version += 1
    document["version"] = record.version
    record.document_json = render_document(document)
    return await record_version(
        session, tenant_id, record, kind=kind, key_prefix=key_prefix, job_id=None, keep=keep
    )


def _patch_document(document: dict[str, Any], item: Item) -> None:
    """Re-render one item in place in the document, its children left as they are."""
    found = find_item(document, item.id)
    assert found is not None
    _, old = found
    if isinstance(item, Module):
        new = module_document(item, old["lessons"])
    elif isinstance(item, Lesson):
        new = {**lesson_document(item, [], []), "concepts": old["concepts"],
               "exercises": old["exercises"]}  # fmt: skip
    elif isinstance(item, Concept):
        new = concept_document(item)
    else:
        new = exercise_document(item)
    old.clear()
    old.update(new)


def _apply(draft: Draft, edit: Edit, index: int | None, created: list[Item]) -> Item:
    kind = edit.kind
    if edit.op == "create":
        fields = validated_fields(kind, FIELDS[kind], edit.fields, index)
        missing = [name for name in REQUIRED[kind] if fields.get(name) is None]
        if missing:
            raise InvalidInputError(
                f"a new {kind} needs {', '.join(missing)}", loc=where(index, missing[0])
            )
        position = fields.pop("position", None)
        values = {**DEFAULTS[kind], **{COLUMN.get(k, k): v for k, v in fields.items()}}
        if kind == "lesson":
            values["course_id"] = draft.course_id
        if kind == "module":
            values["course_id"] = draft.course_id
        item = MODEL_OF[kind](id=edit.id or new_id(), position=0, **values)
        if item.id in draft.items:
            raise InvalidInputError(f"id {item.id} is already in use", loc=where(index, "id"))
        draft.create(kind, item, position, index)
        created.append(item)
        return item
    if edit.id is None:
        raise InvalidInputError(f"{edit.op} needs the id of the {kind}", loc=_edit_loc(index))
    found = draft.get(kind, edit.id)
    if found is None:
        if index is None:
            raise NotFoundError(f"{kind.capitalize()} not found")
        raise InvalidInputError(
            f"no {kind} {edit.id} in this course's structure", loc=("body", "edits", index, "id")
        )
    if edit.op == "delete":
        draft.delete(found)
        return found
    fields = validated_fields(kind, FIELDS[kind], edit.fields, index)
    if edit.op == "move":
        allowed = {"position", "module_id", "lesson_id"}
        extra = sorted(set(fields) - allowed)
        if extra:
            raise InvalidInputError(
                f"a move sets only position and the parent, not {', '.join(extra)}",
                loc=where(index, extra[0]),
            )
    draft.update(found, fields, index)
    return found


def _edit_loc(index: int | None) -> tuple[str | int, ...]:
    return ("body",) if index is None else ("body", "edits", index, "id")


async def _check_ids_free(session: AsyncSession, created: list[Item]) -> None:
    chosen = [item.id for item in created]
    if not chosen:
        return
    taken = await repository.ids_in_use(session, chosen)
    if taken:
        raise InvalidInputError(
            f"ids already in use: {', '.join(sorted(map(str, taken)))}", loc=_edit_loc(None)
        )


def _check_shape(draft: Draft, record: CourseStructureRecord | None) -> None:
    empty = draft.empty_modules()
    if empty:
        titles = ", ".join(repr(m.title) for m in empty)
        raise InvalidInputError(
            f"this move would leave module {titles} without lessons; move a lesson into it "
            "or delete it in the same batch"
        )
    if not draft.modules and record is not None and record.published_version is not None:
        raise ConflictError(
            "This would delete the last module while version "
            f"{record.published_version} is published; unpublish first"
        )


async def _check_references(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    draft: Draft,
    touched: list[Item],
    edits: Sequence[Edit],
) -> None:
    """Every location an edit set must exist in the course's processed materials: 422."""
    lessons: list[LessonShape] = []
    for item, edit in zip(touched, [e for e in edits if e.op != "delete"], strict=True):
        if not REFERENCE_FIELDS & set(edit.fields) or item.id not in draft.items:
            continue
        if isinstance(item, Lesson):
            lessons.append(
                LessonShape(
                    title=item.title,
                    video_material_id=item.video_material_id,
                    video_start=item.video_start,
                    video_end=item.video_end,
                    slides_material_id=item.slides_material_id,
                    slide_start=item.slide_start,
                    slide_end=item.slide_end,
                )
            )
        elif isinstance(item, Concept):
            lessons.append(
                LessonShape.model_validate(
                    {
                        "title": "",
                        "concepts": [
                            {
                                "title": item.title,
                                "definition": item.definition,
                                "timecodes": item.timecodes,
                                "slide_references": item.slide_references,
                                "page_references": item.page_references,
                                "web_references": item.web_references,
                            }
                        ],
                    }
                )
            )
    if not lessons:
        return
    materials = await processed_materials(session, tenant_id, course_id)
    mappings = await slide_mappings(session, course_id)
    context = build_course_context(
        [
            MaterialDocument(
                material_id=m.id,
                source_type=m.source_type,
                label=m.filename or m.source_url or str(m.id),
                document=SourceDocument.model_validate(m.document),
                position=m.position,
            )
            for m in materials
            if m.document is not None
        ],
        {m.slide_number: float(parse_timecode(m.video_timecode)) for m in mappings},
    )
    missing = missing_locations(lessons, context.materials)
    if missing:
        raise InvalidInputError(
            "these references point at no location of the course's processed materials: "
            + "; ".join(missing)
        )


def _check_concept_links(draft: Draft) -> None:
    concepts = {str(i) for i, item in draft.items.items() if isinstance(item, Concept)}
    for lesson_exercises in draft.exercises.values():
        for exercise in lesson_exercises:
            unknown = [c for c in exercise.concept_ids if c not in concepts]
            if unknown:
                raise InvalidInputError(
                    f"not concepts of this course: {', '.join(unknown)}",
                    loc=("body", "concept_ids"),
                )


async def _write_document(
    session: AsyncSession,
    course: Course,
    record: CourseStructureRecord | None,
    draft: Draft,
) -> CourseStructureRecord:
    """Render the draft as the next version's document into the course's structure record."""
    version = (record.version if record else 0) + 1
    if record is not None:
        head = {k: v for k, v in json.loads(record.document_json).items() if k != "modules"}
    else:
        head = {
            "strategy": None,
            "title": course.title,
            "description": course.description or "",
            "learning_goal": course.learning_goal or "",
            "expected_knowledge": course.expected_knowledge,
            "expected_skills": course.expected_skills,
        }
    head = {
        **head,
        "version": version,
        "generated_at": head.get("generated_at") or utcnow().isoformat(),
    }
    document_json = render_document(draft.document(head))
    if record is None:
        record = CourseStructureRecord(
            course_id=course.id,
            version=version,
            document_json=document_json,
            strategy=None,
            job_id=None,
        )
        session.add(record)
    else:
        record.version, record.document_json = version, document_json
    await session.flush()
    return record


def find_item(document: dict[str, Any], item_id: uuid.UUID) -> tuple[str, dict[str, Any]] | None:
    """The kind and rendering of one item of a structure document."""
    wanted = str(item_id)
    for module in document.get("modules", []):
        if module["id"] == wanted:
            return "module", module
        for lesson in module["lessons"]:
            if lesson["id"] == wanted:
                return "lesson", lesson
            for kind, key in (("concept", "concepts"), ("exercise", "exercises")):
                for item in lesson[key]:
                    if item["id"] == wanted:
                        return kind, item
    return None


# Reading, diffing and restoring versions


async def list_versions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    limit: int,
    after: uuid.UUID | None,
) -> tuple[Sequence[StructureVersion], int | None]:
    """A page of versions, newest first, and the published number."""
    await get_course(session, tenant_id, course_id)
    record = await session.get(CourseStructureRecord, course_id)
    versions = await repository.page_versions(session, course_id, limit=limit, after=after)
    return versions, record.published_version if record else None


async def get_version(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, number: int
) -> tuple[StructureVersion, int | None]:
    await get_course(session, tenant_id, course_id)
    version = await repository.get_version(session, course_id, number)
    if version is None:
        raise NotFoundError(f"Version {number} not found (it never existed or was pruned)")
    record = await session.get(CourseStructureRecord, course_id)
    return version, record.published_version if record else None


async def version_document(session: AsyncSession, course_id: uuid.UUID, number: int) -> str | None:
    """The structure document of one stored version, as JSON text; None once it is pruned."""
    return await repository.version_document(session, course_id, number)


async def draft_fingerprints(session: AsyncSession, course_id: uuid.UUID) -> dict[str, str] | None:
    """The material fingerprints the draft version was built from; None without a version."""
    fingerprints = await repository.draft_fingerprints(session, course_id)
    return None if fingerprints is None else {str(k): str(v) for k, v in fingerprints.items()}


async def deleted_by_author(
    session: AsyncSession, course_id: uuid.UUID
) -> Callable[[str, str], bool]:
    """Whether a generated item of this kind and key text matches one the author deleted (a
    tombstone): regeneration keeps it deleted."""
    keys = await repository.tombstone_keys(session, course_id)
    return lambda kind, text: (kind, tombstone_key(kind, text)) in keys


async def diff_versions(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, a: int, b: int
) -> VersionDiff:
    old, _ = await get_version(session, tenant_id, course_id, a)
    new, _ = await get_version(session, tenant_id, course_id, b)
    return diff_documents(a, json.loads(old.document_json), b, json.loads(new.document_json))


async def restore_version(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    key_prefix: str,
    course_id: uuid.UUID,
    number: int,
    *,
    keep: int,
) -> StructureVersion:
    """Make version `number`'s structure the draft again, as a new version; ids are kept."""
    await get_course(session, tenant_id, course_id)
    record = await repository.lock_record(session, course_id)
    source = await repository.get_version(session, course_id, number)
    if source is None or record is None:
        raise NotFoundError(f"Version {number} not found (it never existed or was pruned)")
    snapshot = json.loads(source.document_json)
    await repository.delete_draft_rows(session, course_id)
    draft = rows_of_document(course_id, snapshot)
    for level in (
        draft.modules,
        [lesson for lessons in draft.lessons.values() for lesson in lessons],
        [
            item
            for lesson_id in draft.concepts
            for item in [*draft.concepts[lesson_id], *draft.exercises[lesson_id]]
        ],
    ):
        session.add_all(level)
        await session.flush()
    head = {k: v for k, v in snapshot.items() if k != "modules"}
    return await _store_next_version(
        session, tenant_id, record, draft.document(head), kind=VersionKind.RESTORED,
        key_prefix=key_prefix, keep=keep,
    )  # fmt: skip


def rows_of_document(course_id: uuid.UUID, document: dict[str, Any]) -> Draft:
    """Rows (ids and origins kept) rebuilt from a structure document."""
    modules: list[Module] = []
    lessons: list[Lesson] = []
    concepts: list[Concept] = []
    exercises: list[Exercise] = []
    for m_pos, module in enumerate(document.get("modules", []), start=1):
        module_id = uuid.UUID(module["id"])
        modules.append(
            Module(
                id=module_id,
                course_id=course_id,
                position=m_pos,
                title=module["title"],
                description=module.get("description", ""),
                learning_goal=module.get("learning_goal", ""),
                expected_knowledge=module.get("expected_knowledge", []),
                expected_skills=module.get("expected_skills", []),
                difficulty=module.get("difficulty", "medium"),
                origin=module.get("origin", Origin.GENERATED),
            )
        )
        for l_pos, lesson in enumerate(module["lessons"], start=1):
            lesson_id = uuid.UUID(lesson["id"])
            lessons.append(
                Lesson(
                    id=lesson_id,
                    module_id=module_id,
                    course_id=course_id,
                    position=l_pos,
                    title=lesson["title"],
                    video_material_id=_uuid_or_none(lesson.get("video_material_id")),
                    video_start=lesson.get("video_start"),
                    video_end=lesson.get("video_end"),
                    slides_material_id=_uuid_or_none(lesson.get("slides_material_id")),
                    slide_start=lesson.get("slide_start"),
                    slide_end=lesson.get("slide_end"),
                    origin=lesson.get("origin", Origin.GENERATED),
                )
            )
            for c_pos, concept in enumerate(lesson.get("concepts", []), start=1):
                concepts.append(
                    Concept(
                        id=uuid.UUID(concept["id"]),
                        lesson_id=lesson_id,
                        position=c_pos,
                        title=concept["title"],
                        definition=concept["definition"],
                        examples=concept.get("examples", []),
                        timecodes=concept.get("timecodes", []),
                        slide_references=concept.get("slide_references", []),
                        page_references=concept.get("page_references", []),
                        web_references=concept.get("web_references", []),
                        origin=concept.get("origin", Origin.GENERATED),
                    )
                )
            for e_pos, exercise in enumerate(lesson.get("exercises", []), start=1):
                exercises.append(
                    Exercise(
                        id=uuid.UUID(exercise["id"]),
                        lesson_id=lesson_id,
                        position=e_pos,
                        description=exercise["description"],
                        reference_solution=exercise.get("reference_solution", ""),
                        grading_criteria=exercise.get(
                            "criteria", exercise.get("grading_criteria", [])
                        ),
                        difficulty=exercise.get("difficulty", 3),
                        max_points=exercise.get("max_points", 5.0),
                        concept_ids=exercise.get("concept_ids", []),
                        origin=exercise.get("origin", Origin.GENERATED),
                    )
                )
    return Draft.of(course_id, modules, lessons, concepts, exercises)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


# Publication


async def publish(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    key_prefix: str,
    course_id: uuid.UUID,
    number: int | None,
) -> CourseStructureRecord:
    """Make a version (default: the latest) the one `check` keys read."""
    await get_course(session, tenant_id, course_id)
    record = await repository.lock_record(session, course_id)
    if record is None:
        raise ConflictError("This course has no structure yet: generate or author one first")
    number = record.version if number is None else number
    if await repository.get_version(session, course_id, number, with_document=False) is None:
        raise NotFoundError(f"Version {number} not found (it never existed or was pruned)")
    record.published_version = number
    await _log_publication(session, course_id, PublicationAction.PUBLISHED, number, key_prefix)
    return record


async def unpublish(
    session: AsyncSession, tenant_id: uuid.UUID, key_prefix: str, course_id: uuid.UUID
) -> None:
    await get_course(session, tenant_id, course_id)
    record = await repository.lock_record(session, course_id)
    if record is None or record.published_version is None:
        raise ConflictError("Nothing of this course is published")
    await _log_publication(
        session, course_id, PublicationAction.UNPUBLISHED, record.published_version, key_prefix
    )
    record.published_version = None
    await session.flush()


async def _log_publication(
    session: AsyncSession,
    course_id: uuid.UUID,
    action: PublicationAction,
    version: int,
    key_prefix: str,
) -> None:
    session.add(
        StructurePublication(
            course_id=course_id, action=action, version=version, key_prefix=key_prefix
        )
    )
    await session.flush()


# What `check` keys read: the published version


NOTHING_PUBLISHED = (
    "Nothing of this course is published yet: a prep key publishes a version "
    "(POST /api/v1/courses/{course_id}/publication) before check keys can read it"
)


@dataclass(frozen=True)
class PublishedExercise:
    """An exercise as a version shows it, with the concepts of that version."""

    exercise: Exercise
    course_id: uuid.UUID
    version: int
    concepts: list[Concept]


async def published_exercise(
    session: AsyncSession, tenant_id: uuid.UUID, exercise_id: uuid.UUID
) -> PublishedExercise:
    """The exercise in its course's published version: 404 if the tenant has no such exercise,
    409 if its course publishes nothing or a version without it."""
    version = await repository.published_with_exercise(session, tenant_id, exercise_id)
    if version is not None:
        found = _exercise_in(version, exercise_id)
        if found is not None:
            return found
    course_id = await repository.draft_exercise_course(session, tenant_id, exercise_id)
    if course_id is None:
        raise NotFoundError("Exercise not found")
    record = await session.get(CourseStructureRecord, course_id)
    if record is None or record.published_version is None:
        raise ConflictError(NOTHING_PUBLISHED.format(course_id=course_id))
    raise ConflictError(
        f"This exercise is not in version {record.published_version}, the published one; "
        "publish a version that has it"
    )


async def version_exercise(
    session: AsyncSession, course_id: uuid.UUID, number: int, exercise_id: uuid.UUID
) -> PublishedExercise | None:
    """The exercise as version `number` shows it; None if the version is gone or lacks it."""
    version = await repository.get_version(session, course_id, number)
    return None if version is None else _exercise_in(version, exercise_id)


def _exercise_in(version: StructureVersion, exercise_id: uuid.UUID) -> PublishedExercise | None:
    view = rows_of_document(version.course_id, json.loads(version.document_json))
    exercise = view.get("exercise", exercise_id)
    if not isinstance(exercise, Exercise):
        return None
    concepts = [c for c in view.items.values() if isinstance(c, Concept)]
    return PublishedExercise(exercise, version.course_id, version.number, concepts)


@dataclass(frozen=True)
class PublishedStructure:
    number: int
    draft: Draft

    def concepts(self) -> list[Concept]:
        return [c for c in self.draft.items.values() if isinstance(c, Concept)]

    def lessons(self) -> list[tuple[Lesson, int]]:
        """Every lesson with its module's position, in course order."""
        return [
            (lesson, module.position)
            for module in self.draft.modules
            for lesson in self.draft.lessons.get(module.id, [])
        ]

    def lesson_concepts(self, lesson_id: uuid.UUID) -> list[Concept]:
        return list(self.draft.concepts.get(lesson_id, []))

    def exercise_lessons(
        self, exercise_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[Lesson, int]]:
        """The lesson (and its module's position) of each exercise in `exercise_ids`."""
        found: dict[uuid.UUID, tuple[Lesson, int]] = {}
        for module in self.draft.modules:
            for lesson in self.draft.lessons[module.id]:
                for exercise in self.draft.exercises[lesson.id]:
                    if exercise.id in exercise_ids:
                        found[exercise.id] = (lesson, module.position)
        return found


async def published_structure(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> PublishedStructure:
    """The course's published version as detached rows; 409 when nothing is published."""
    await get_course(session, tenant_id, course_id)
    record = await session.get(CourseStructureRecord, course_id)
    if record is None or record.published_version is None:
        raise ConflictError(NOTHING_PUBLISHED.format(course_id=course_id))
    version = await repository.get_version(session, course_id, record.published_version)
    assert version is not None  # the published version is never pruned
    return PublishedStructure(
        version.number, rows_of_document(course_id, json.loads(version.document_json))
    )
