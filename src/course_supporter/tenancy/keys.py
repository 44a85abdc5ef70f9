"""API key format: `cs_live_` + 32 lowercase hex; only its SHA-256 and a display prefix are kept."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "cs_live_"
KEY_PATTERN = re.compile(r"cs_live_[0-9a-f]{32}")
DISPLAY_HEX_CHARS = 8


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_hex(16)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("ascii")).hexdigest()


def display_prefix(raw_key: str) -> str:
    return raw_key[: len(KEY_PREFIX) + DISPLAY_HEX_CHARS]


def is_well_formed(raw_key: str) -> bool:
    return len(raw_key) == len(KEY_PREFIX) + 32 and KEY_PATTERN.fullmatch(raw_key) is not None
