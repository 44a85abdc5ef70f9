"""Settings and a model registry pointing at the chat-completions server of tests/chat_server.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_supporter.config import Settings
from tests.chat_server import MODELS_YAML, ChatServer


@pytest.fixture
def models_path(tmp_path: Path) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(MODELS_YAML, encoding="utf-8")
    return path


@pytest.fixture
def wire_settings(chat_server: ChatServer, models_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        openai_compatible_base_url=chat_server.base_url,
        openai_compatible_api_key="test-key",
        anthropic_api_key=None,
        models_config_path=models_path,
        llm_request_retries=0,
        llm_output_retries=1,
        llm_timeout_seconds=20,
    )
