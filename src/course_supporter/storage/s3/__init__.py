"""S3-compatible backend (AWS S3, Backblaze B2, MinIO): `STORAGE_BACKEND=s3`.

`connection` holds the pooled clients and error wording, `objects` the backend and its
object operations, `direct` the presigned direct uploads, `writer` the streaming multipart
writer.
"""

from __future__ import annotations

from course_supporter.storage.s3.objects import S3Storage
from course_supporter.storage.s3.settings import S3Settings
from course_supporter.storage.s3.writer import S3Writer

__all__ = ["S3Settings", "S3Storage", "S3Writer"]
