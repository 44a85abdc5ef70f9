"""The streaming multipart writer: one object into S3 with bounded memory."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Literal, TypedDict

import structlog
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:  # typing stubs, a dev-only dependency
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

from course_supporter.storage.backend import ObjectWriter
from course_supporter.storage.errors import StorageUnavailable
from course_supporter.storage.s3.connection import MISSING_CODES, error_code

log = structlog.get_logger(__name__)


class S3Writer(ObjectWriter):
    """One PUT when the object fits in a part, else multipart; holds (1 + parts_in_flight) parts.

    With `parts_in_flight` ≥ 1, full parts upload in the background while the next one
    fills, so receiving from the client and sending to S3 overlap. With `checksums`, every
    PUT carries the CRC32 of its bytes for storage to verify, and the multipart upload is
    created as a CRC32 one (parts listed with their checksums on completion).
    """

    def __init__(
        self,
        key: str,
        max_bytes: int,
        *,
        client: S3Client,
        bucket: str,
        content_type: str,
        part_size: int,
        parts_in_flight: int = 1,
        checksums: bool = False,
        data_client: S3Client | None = None,
    ) -> None:
        super().__init__(key, max_bytes)
        self._client = client
        self._data_client = data_client or client
        self._bucket = bucket
        self._content_type = content_type
        self._part_size = part_size
        self._parts_in_flight = parts_in_flight
        self._checksums = checksums
        # A BytesIO body is sent in 256 KiB slices with flow control; bytes would be copied
        # whole into the transport buffer, doubling the memory per part. A sent part's
        # buffer is refilled rather than freed: fresh ones grow by reallocation and
        # fragment the heap (RSS up to half a part above the parts held).
        self._buffer = io.BytesIO()
        self._buffered = 0
        self._spare_buffers: list[io.BytesIO] = []
        self._crc32 = 0
        self._upload_id: str | None = None
        self._next_part_number = 1
        self._parts: list[CompletedPartTypeDef] = []
        self._uploading: set[asyncio.Task[None]] = set()
        self._publish_attempted = False

    @property
    def buffered_bytes(self) -> int:
        """Bytes held in memory, waiting to be sent as the next part."""
        return self._buffered

    async def _write(self, chunk: bytes) -> None:
        data = memoryview(chunk)
        while data:
            # Parts are exactly part_size: a buffer sized for one never reallocates.
            room = self._part_size - self._buffered
            piece, data = data[:room], data[room:]
            # Our own offset, not the buffer's position: nothing that read the buffer while
            # it was a request body can move where the next part's bytes go.
            self._buffer.seek(self._buffered)
            self._buffered += self._buffer.write(piece)
            if self._checksums:
                self._crc32 = binascii.crc32(piece, self._crc32)
            if self._buffered == self._part_size:
                await self._send_buffer_as_part()

    async def _complete(self) -> None:
        self._publish_attempted = True
        if self._upload_id is None:
            body, checksum = self._take_buffer()
            async with _storing(self.key):
                await self._data_client.put_object(
                    Bucket=self._bucket,
                    Key=self.key,
                    Body=body,
                    ContentType=self._content_type,
                    **checksum,
                )
            return
        if self.buffered_bytes:
            await self._send_buffer_as_part(last=True)
        while self._uploading:
            await self._wait_for_a_part()
        async with _storing(self.key):
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": sorted(self._parts, key=lambda p: p["PartNumber"])},
            )

    async def _abort(self) -> None:
        self._buffer = io.BytesIO()
        self._buffered = 0
        for task in self._uploading:
            task.cancel()
        await asyncio.gather(*self._uploading, return_exceptions=True)
        self._uploading.clear()
        self._spare_buffers.clear()
        if self._upload_id is not None:
            await self._clean_up(
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self.key, UploadId=self._upload_id
                )
            )
        if self._publish_attempted:
            await self._clean_up(self._client.delete_object(Bucket=self._bucket, Key=self.key))

    async def _clean_up(self, request: Awaitable[object]) -> None:
        """Cleanup must not mask the original error; `abort_stale_uploads` sweeps leftovers."""
        try:
            await request
        except ClientError as error:
            if error_code(error) not in MISSING_CODES:
                log.warning("storage.abort_failed", key=self.key, error=str(error))
        except BotoCoreError as error:
            log.warning("storage.abort_failed", key=self.key, error=str(error))

    async def _send_buffer_as_part(self, *, last: bool = False) -> None:
        if self._upload_id is None:
            algorithm: _Algorithm = {"ChecksumAlgorithm": "CRC32"} if self._checksums else {}
            async with _storing(self.key):
                started = await self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self.key, ContentType=self._content_type, **algorithm
                )
            self._upload_id = started["UploadId"]
        number, self._next_part_number = self._next_part_number, self._next_part_number + 1
        upload = self._upload_part(number, *self._take_buffer())
        if self._parts_in_flight == 0:
            await upload
        else:
            # Send at once, then wait before filling another part: the part just sent
            # travels while storage still digests the one before, and memory stays at
            # 1 + parts_in_flight parts.
            self._uploading.add(asyncio.create_task(upload))
            while len(self._uploading) > self._parts_in_flight:
                await self._wait_for_a_part()
        if last:
            return
        # The object spans several parts: give the next one all its room up front.
        self._buffer = (
            self._spare_buffers.pop() if self._spare_buffers else _part_buffer(self._part_size)
        )

    async def _upload_part(self, number: int, body: io.BytesIO, checksum: _Checksum) -> None:
        assert self._upload_id is not None
        try:
            async with _storing(self.key):
                uploaded = await self._data_client.upload_part(
                    Bucket=self._bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    Body=body,
                    **checksum,
                )
        finally:
            self._spare_buffers.append(body)
        part: CompletedPartTypeDef = {"PartNumber": number, "ETag": uploaded["ETag"]}
        if "ChecksumCRC32" in checksum:
            part["ChecksumCRC32"] = checksum["ChecksumCRC32"]
        self._parts.append(part)

    async def _wait_for_a_part(self) -> None:
        """Wait until a background part finishes; re-raise its error, if any."""
        done, _ = await asyncio.wait(self._uploading, return_when=asyncio.FIRST_COMPLETED)
        self._uploading -= done
        for task in done:
            task.result()

    def _take_buffer(self) -> tuple[io.BytesIO, _Checksum]:
        body, self._buffer = self._buffer, io.BytesIO()
        body.truncate(self._buffered)  # a refilled buffer may hold an earlier part's end
        body.seek(0)
        self._buffered = 0
        checksum: _Checksum = {}
        if self._checksums:
            checksum["ChecksumCRC32"] = base64.b64encode(self._crc32.to_bytes(4, "big")).decode()
            self._crc32 = 0
        return body, checksum


def _part_buffer(size: int) -> io.BytesIO:
    """An empty-to-be BytesIO with room for `size` bytes; the writer truncates what it sends.

    BytesIO shares the zeroed bytes it starts from and writes in place while nothing else
    holds them; large zeroed allocations are untouched pages, resident only once written.
    """
    return io.BytesIO(bytes(size))


class _Checksum(TypedDict, total=False):
    ChecksumCRC32: str


class _Algorithm(TypedDict, total=False):
    ChecksumAlgorithm: Literal["CRC32"]


@contextlib.asynccontextmanager
async def _storing(key: str) -> AsyncIterator[None]:
    """Report a failed write as `StorageUnavailable` naming the object."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise StorageUnavailable(f"storing {key!r} failed: {error}") from error
