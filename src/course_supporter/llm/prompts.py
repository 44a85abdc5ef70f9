"""Versioned prompt templates from YAML: `prompts/<name>/<version>.yaml` in the package."""

from __future__ import annotations

from importlib.resources.abc import Traversable

import yaml
from pydantic import BaseModel


class PromptTemplate(BaseModel):
    """A system prompt and a user template; `version` is recorded with every call."""

    version: str
    system: str
    user_template: str

    def render_user(self, **values: str) -> str:
        """The user prompt with `{name}` placeholders filled in."""
        return self.user_template.format(**values)


def load_prompt(prompts_dir: Traversable, name: str, version: str) -> PromptTemplate:
    """Read and validate one prompt template."""
    path = prompts_dir / name / f"{version}.yaml"
    with path.open(encoding="utf-8") as file:
        return PromptTemplate.model_validate(yaml.safe_load(file))
