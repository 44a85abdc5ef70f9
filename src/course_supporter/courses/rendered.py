"""Rendered course details kept in process, keyed by ETag: an entry never goes stale, because
the ETag names the exact state it was rendered from."""

from __future__ import annotations

from cachetools import LRUCache


class RenderedCourses:
    """Least-recently-used bodies, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._bodies: LRUCache[str, bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)

    def get(self, etag: str) -> bytes | None:
        return self._bodies.get(etag)

    def put(self, etag: str, body: bytes) -> None:
        # A body larger than the whole budget is not kept (LRUCache would raise).
        if len(body) > self.max_bytes or etag in self._bodies:
            return
        self._bodies[etag] = body
