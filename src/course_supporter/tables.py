"""Imports every domain's tables so `Base.metadata` is complete (migrations, schema tests)."""

from course_supporter.authoring import models as authoring_models
from course_supporter.courses import models as courses_models
from course_supporter.db import Base
from course_supporter.events import models as events_models
from course_supporter.jobs import models as jobs_models
from course_supporter.llm import models as llm_models
from course_supporter.materials import models as materials_models
from course_supporter.mentoring import models as mentoring_models
from course_supporter.tenancy import models as tenancy_models

__all__ = [
    "Base",
    "authoring_models",
    "courses_models",
    "events_models",
    "jobs_models",
    "llm_models",
    "materials_models",
    "mentoring_models",
    "tenancy_models",
]
