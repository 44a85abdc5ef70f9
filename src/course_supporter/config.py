"""Settings: one object, read from the environment and `.env`."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceParseError

from course_supporter.errors import InvalidSettingsError
from course_supporter.llm.strategy import Strategy

PACKAGE_FILES = files("course_supporter")
"""The installed package: migrations/, llm/models.yaml and prompts/ ship inside it."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class StorageBackend(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./var/course_supporter.db"
    database_pool_size: int = Field(default=10, ge=1)
    redis_url: str | None = None

    storage_backend: StorageBackend = StorageBackend.LOCAL
    storage_dir: Path = Path("./var/storage")
    s3_endpoint_url: str | None = None
    # Endpoint written into presigned URLs, when clients reach storage at another address.
    s3_presign_endpoint_url: str | None = None
    s3_bucket: str = "course-supporter"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    s3_create_bucket: bool = True
    s3_part_size_bytes: int = 10 * 1024 * 1024
    # Parts still uploading when the next starts filling; upload memory ≈ (1 + this) x part size.
    s3_parts_in_flight: int = Field(default=1, ge=0, le=8)
    # CRC32 per uploaded part, verified by storage; "auto" sends none to Backblaze B2, which
    # refuses checksum headers. With "none" upload bodies are SHA-256 signed instead.
    s3_checksum: Literal["auto", "crc32", "none"] = "auto"
    presigned_url_ttl_seconds: int = 3600
    # Local storage signs direct-upload URLs itself; unset, a secret is generated into
    # STORAGE_DIR on first use (shared by every process serving that directory).
    upload_signing_secret: SecretStr | None = Field(default=None, min_length=32)
    # Scheme, host and path prefix clients reach the API at, written into upload URLs the
    # API signs; unset, the address of the request that prepared the upload.
    public_base_url: str | None = None
    max_upload_bytes: int = 1024**3
    max_json_body_bytes: int = 64 * 1024
    rendered_course_cache_bytes: int = 64 * 1024 * 1024

    # List defaults are plain values (pydantic copies them per instance): `default_factory=list`
    # has pydantic read the builtin's signature, which compiles tokenize's patterns, 20 ms of
    # every CLI command's start.
    cors_allowed_origins: Annotated[list[str], NoDecode] = []
    # Peers whose X-Forwarded-For names the client (addresses, networks, or "*"): the address
    # failed authentications are counted against.
    trusted_proxies: Annotated[list[str], NoDecode] = ["127.0.0.1"]
    log_level: str = "INFO"

    api_key_cache_ttl_seconds: float = Field(default=10.0, ge=0, le=30)
    api_key_revalidate_seconds: float = Field(default=1.0, gt=0)
    last_used_flush_seconds: float = 60.0
    default_rate_limit_prep: int = 60
    default_rate_limit_check: int = 300
    auth_failure_limit: str = "20/minute"
    rate_limit_fail_open: bool = True
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    redis_breaker_failures: int = Field(default=3, ge=1)
    redis_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    health_check_timeout_seconds: float = 2.0
    # /metrics wants `Authorization: Bearer <this>` when set; unset, it is open in development
    # and answers 404 in production.
    metrics_token: str | None = None

    embedded_worker: bool | None = None
    job_max_attempts: int = Field(default=5, ge=1)
    job_timeout_seconds: float = Field(default=3600.0, gt=0)
    job_retry_base_seconds: float = Field(default=10.0, ge=0)
    job_retry_max_seconds: float = Field(default=600.0, ge=0)
    job_concurrency: int = Field(default=2, ge=1)
    job_poll_interval_seconds: float = Field(default=2.0, gt=0)
    job_relay_interval_seconds: float = Field(default=1.0, gt=0)
    job_heartbeat_seconds: float = Field(default=10.0, gt=0)
    job_stalled_after_seconds: float = Field(default=60.0, gt=0)
    job_stalled_check_seconds: float = Field(default=30.0, gt=0)
    job_shutdown_grace_seconds: float = Field(default=25.0, ge=0)
    upload_sweep_interval_seconds: float = Field(default=900.0, gt=0)
    job_extra_modules: Annotated[list[str], NoDecode] = []
    job_progress_interval_seconds: float = Field(default=1.0, ge=0)

    # Events (events/): kept at least an hour so Last-Event-ID can always resume that far.
    events_retention_seconds: float = Field(default=7 * 86400.0, ge=3600)
    events_prune_interval_seconds: float = Field(default=3600.0, gt=0)
    events_keepalive_seconds: float = Field(default=15.0, gt=0)
    events_poll_interval_seconds: float = Field(default=2.0, gt=0)
    events_client_buffer: int = Field(default=1000, ge=1)
    events_retry_ms: int = Field(default=3000, ge=0)
    events_stream_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_base_seconds: float = Field(default=30.0, ge=0)
    webhook_retry_max_seconds: float = Field(default=3 * 3600.0, ge=0)
    webhook_retry_window_seconds: float = Field(default=86400.0, ge=0)
    webhook_max_per_tenant: int = Field(default=20, ge=1)
    # Tests only: webhook URLs on 127.0.0.1/::1 pass the outbound-address guard.
    webhook_allow_loopback: bool = False

    max_answer_chars: int = Field(default=20_000, ge=1)
    grading_review_below: float = Field(default=0.4, ge=0, le=1)
    # "auto": the `grade` action's models when a provider is configured, else offline.
    grading_grader: Literal["auto", "offline"] = "auto"
    grading_strategy: Strategy = Strategy.DEFAULT
    grading_model_examples: int = Field(default=5, ge=0, le=50)
    max_batch_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)

    structure_versions_kept: int = Field(default=50, ge=2)
    """Structure versions kept per course; older ones are pruned (never the published one)."""

    fetch_allowed_hosts: Annotated[list[str], NoDecode] = []
    fetch_max_bytes: int = 20 * 1024 * 1024
    fetch_timeout_seconds: float = 15.0
    fetch_total_timeout_seconds: float = 60.0
    whisper_model_path: Path | None = None
    ffmpeg_binary: str = "ffmpeg"
    ffmpeg_timeout_seconds: float = 900.0
    ytdlp_timeout_seconds: float = 900.0
    media_download_max_bytes: int = 512 * 1024 * 1024
    ingest_max_text_chars: int = 5_000_000
    ingest_max_unzipped_bytes: int = 512 * 1024 * 1024
    ingest_max_zip_ratio: float = 100.0
    # Per-format caps, checked before the parse where the file allows it.
    ingest_max_pdf_pages: int = Field(default=3000, ge=1)
    ingest_max_docx_paragraphs: int = Field(default=200_000, ge=1)
    ingest_max_pptx_slides: int = Field(default=1000, ge=1)
    ingest_max_subtitle_cues: int = Field(default=50_000, ge=1)
    # Each file is parsed in a child process that these limits stop (see ingestion/confined.py).
    ingest_extract_cpu_seconds: int = Field(default=120, ge=1)
    ingest_extract_memory_bytes: int = Field(default=1024**3, ge=256 * 1024**2)
    ingest_extract_timeout_seconds: float = Field(default=300.0, gt=0)

    # An operator's own models YAML or prompts folder; unset, the ones shipped in the package.
    models_config_path: Path | None = None
    prompts_dir: Path | None = None
    llm_offline_fallback: bool = True
    llm_timeout_seconds: float = Field(default=300.0, gt=0)
    llm_request_retries: int = Field(default=1, ge=0)
    llm_output_retries: int = Field(default=2, ge=0)
    gemini_api_key: str | None = None
    anthropic_api_key: str | None = None
    openai_api_key: str | None = None
    deepseek_api_key: str | None = None
    openai_compatible_base_url: str | None = None
    openai_compatible_api_key: str | None = None

    @field_validator(
        "cors_allowed_origins",
        "fetch_allowed_hosts",
        "job_extra_modules",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is not an IP address, a network (10.0.0.0/8) or '*'"
                    ) from None
        return value

    @property
    def models_config(self) -> Traversable:
        return self.models_config_path or PACKAGE_FILES / "llm" / "models.yaml"

    @property
    def prompts(self) -> Traversable:
        return self.prompts_dir or PACKAGE_FILES / "prompts"

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def runs_embedded_worker(self) -> bool:
        """The API process runs jobs itself unless told otherwise or on PostgreSQL."""
        if self.embedded_worker is not None:
            return self.embedded_worker
        return self.database_url.startswith("sqlite")


# Values of these settings are never repeated back: they may hold a password or a key.
_UNSHOWN = ("url", "key", "secret", "token", "password")


def _describe(error: ErrorDetails) -> str:
    """`ENVIRONMENT='prod': input should be 'development' or 'production'` (the env var's name)."""
    name = "__".join(part for part in error["loc"] if isinstance(part, str)).upper() or "settings"
    message = error["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    shown = isinstance(error["input"], str) and not any(w in name.lower() for w in _UNSHOWN)
    given = f"={error['input']!r}" if shown else ""
    return f"{name}{given}: {message}"


@lru_cache
def get_settings() -> Settings:
    """The settings of this process; a refused value is an `InvalidSettingsError`."""
    try:
        return Settings()
    except ValidationError as exc:
        described = "; ".join(_describe(error) for error in exc.errors())
        raise InvalidSettingsError(f"invalid setting {described}") from None
    except SourceParseError as exc:
        raise InvalidSettingsError(f"invalid setting: {exc}") from None
