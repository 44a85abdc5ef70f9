"""Course structuring end to end over the chat-completions wire, through the fallback chain."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from course_supporter.config import Settings
from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.llm.router import CallLog
from course_supporter.structuring.architect import generate_structure
from tests.chat_server import Behaviour, ChatServer


async def test_generate_structure_falls_back_and_records_every_call(
    chat_server: ChatServer, wire_settings: Settings
) -> None:
    material_id = uuid.uuid4()
    document = SourceDocument(
        source_type="text",
        title="Caching",
        chunks=[
            Chunk(kind=ChunkKind.HEADING, text="Caching", ref=Reference(heading_level=1)),
            Chunk(kind=ChunkKind.PARAGRAPH, text="A cache is a fast store.", ref=Reference(page=1)),
        ],
    )
    material = MaterialDocument(material_id, "text", "caching.pdf", document)
    generated = {
        "title": "Caching",
        "modules": [
            {
                "title": "Caching",
                "difficulty": "easy",
                "lessons": [
                    {
                        "title": "What a cache is",
                        "concepts": [
                            {
                                "title": "Cache",
                                "definition": "A fast store.",
                                "page_references": [
                                    {"material_id": str(material_id), "page": 1},
                                    {"material_id": str(material_id), "page": 7},
                                ],
                            }
                        ],
                        "exercises": [
                            {
                                "description": "Define a cache.",
                                "reference_solution": "A fast store.",
                                "grading_criteria": ["mentions speed"],
                                "difficulty": 1,
                            }
                        ],
                    }
                ],
            }
        ],
    }
    chat_server.behaviours["model-500"] = Behaviour(status=500)
    chat_server.behaviours["model-bad-json"] = Behaviour(
        arguments='{"title": 1}', prompt_tokens=50, completion_tokens=5
    )
    chat_server.behaviours["model-good"] = Behaviour(
        arguments=json.dumps(generated), prompt_tokens=2000, completion_tokens=400
    )
    log = CallLog()
    job_id, tenant_id = uuid.uuid4(), uuid.uuid4()

    result = await generate_structure(
        [material],
        settings=wire_settings,
        recorder=log,
        tenant_id=tenant_id,
        job_id=job_id,
    )

    prompt = chat_server.requests[-1]["messages"]
    assert f"=== material {material_id}" in json.dumps(prompt)
    assert result.model_used == "working" and not result.offline_fallback
    assert result.dropped_references == 1
    [concept] = result.structure.modules[0].lessons[0].concepts
    assert [r.page for r in concept.page_references] == [1]
    assert [(c.model_id, c.success) for c in log.calls] == [
        ("broken", False),
        ("garbled", False),
        ("working", True),
    ]
    assert all(c.job_id == job_id and c.tenant_id == tenant_id for c in log.calls)
    assert log.calls[1].cost_usd == Decimal("0.00036")  # (2 * 50 * 3.00 + 2 * 5 * 6.00) / 1M
    assert log.calls[2].cost_usd == result.cost_usd == Decimal("0.0016")  # 2000*0.5 + 400*1.5
    assert (result.tokens_in, result.tokens_out) == (2000, 400)
