"""Structure edits, versions, diffs, restore and publication of a course's structure."""

from course_supporter.authoring.tombstones import tombstone_key

__all__ = ["tombstone_key"]
