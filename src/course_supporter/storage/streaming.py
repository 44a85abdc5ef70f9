"""Incremental multipart/form-data upload: the request body flows into an `ObjectWriter`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field

from course_supporter.storage.backend import ObjectWriter, StoredObject
from course_supporter.storage.errors import (
    FormFieldTooLarge,
    MalformedMultipart,
    MissingFormField,
    UploadTooLarge,
)
from course_supporter.storage.keys import normalise_filename
from course_supporter.storage.multipart import (
    MultipartParser,
    PartData,
    PartEnd,
    PartEvent,
    PartStart,
    boundary_of,
)

HEAD_BYTES = 8 * 1024
FEED_BYTES = 64 * 1024
# The upload form has two parts with short headers; a browser's stay far below these. Past
# them the parser stops reading (a 100 MB file name once cost 1.5 GB of RAM and 146 s).
MAX_PART_HEADER_BYTES = 16 * 1024
MAX_PARTS = 16
DEFAULT_CONTENT_TYPE = "application/octet-stream"

OpenWriter = Callable[[str, str], Awaitable[ObjectWriter]]
CheckHead = Callable[[str, bytes, Mapping[str, str]], str]


@dataclass(frozen=True, slots=True)
class ReceivedUpload:
    """A stored file plus the text fields sent with it; `content_type` is what was stored."""

    fields: dict[str, str]
    filename: str
    content_type: str
    stored: StoredObject


async def receive_multipart_upload(
    body: AsyncIterable[bytes],
    content_type_header: str,
    *,
    open_writer: OpenWriter,
    check_head: CheckHead | None = None,
    max_bytes: int,
    text_fields: Collection[str] = ("source_type",),
    optional_fields: Collection[str] = (),
    file_field: str = "file",
    max_field_bytes: int = 1024,
    max_header_bytes: int = MAX_PART_HEADER_BYTES,
    max_parts: int = MAX_PARTS,
) -> ReceivedUpload:
    """Parse the body as it arrives and stream the file part into storage.

    Every name in `text_fields` must arrive before the file part; `optional_fields` are kept
    when sent (before the file part to be seen by `check_head`); parts with other names are
    skipped (but count towards `max_parts`). The file name is normalised and checked
    (`normalise_filename`) as soon as the file part's headers end. `check_head(filename,
    head, fields)` gets at least the first 8 KiB (or the whole file if smaller) before
    anything is stored, may raise to reject the file, and returns the content type to
    store; `open_writer(filename, content_type)` then opens the destination. Any error —
    including one raised by `body` when the client disconnects — aborts the writer, so
    nothing partial is left.
    """
    parser = MultipartParser(
        boundary_of(content_type_header), max_header_bytes=max_header_bytes, max_parts=max_parts
    )
    form = _FormAssembly(
        text_fields=text_fields,
        optional_fields=optional_fields,
        file_field=file_field,
        max_field_bytes=max_field_bytes,
        max_bytes=max_bytes,
        open_writer=open_writer,
        check_head=check_head,
    )
    try:
        async for chunk in body:
            for start in range(0, len(chunk), FEED_BYTES):
                for event in parser.feed(chunk[start : start + FEED_BYTES]):
                    await form.handle(event)
        return await form.finish()
    except BaseException:
        await form.abort()
        raise


@dataclass(slots=True)
class _FormAssembly:
    """Turns part events into text fields and one stored file, enforcing order and limits."""

    text_fields: Collection[str]
    optional_fields: Collection[str]
    file_field: str
    max_field_bytes: int
    max_bytes: int
    open_writer: OpenWriter
    check_head: CheckHead | None
    fields: dict[str, str] = field(default_factory=dict)
    current: PartStart | None = None
    field_buffer: bytearray = field(default_factory=bytearray)
    head: bytearray = field(default_factory=bytearray)
    file_part: PartStart | None = None
    filename: str = ""
    file_done: bool = False
    file_size: int = 0
    content_type: str = DEFAULT_CONTENT_TYPE
    writer: ObjectWriter | None = None

    async def handle(self, event: PartEvent) -> None:
        if isinstance(event, PartStart):
            self.current = event
            if event.name == self.file_field:
                self._start_file(event)
            elif event.name in self.text_fields or event.name in self.optional_fields:
                if event.name in self.fields:
                    raise MalformedMultipart(f"form field {event.name!r} was sent more than once")
                self.field_buffer = bytearray()
            return
        part = self.current
        if part is None or part.name not in {
            self.file_field,
            *self.text_fields,
            *self.optional_fields,
        }:
            return
        if part.name == self.file_field:
            await self._file_event(event)
        elif isinstance(event, PartData):
            self.field_buffer += event.data
            if len(self.field_buffer) > self.max_field_bytes:
                raise FormFieldTooLarge(
                    f"form field {part.name!r} is longer than {self.max_field_bytes} bytes"
                )
        else:
            try:
                self.fields[str(part.name)] = self.field_buffer.decode().strip()
            except UnicodeDecodeError as error:
                raise MalformedMultipart(f"form field {part.name!r} is not UTF-8 text") from error

    async def finish(self) -> ReceivedUpload:
        if self.file_part is None:
            raise MissingFormField(f"form field {self.file_field!r} with the file is missing")
        if not self.file_done:
            raise MalformedMultipart("the request body ended before the file part was complete")
        assert self.writer is not None
        stored = await self.writer.complete()
        return ReceivedUpload(self.fields, self.filename, self.content_type, stored)

    async def abort(self) -> None:
        self.head = bytearray()
        if self.writer is not None:
            await asyncio.shield(self.writer.abort())

    def _start_file(self, part: PartStart) -> None:
        if self.file_part is not None:
            raise MalformedMultipart(f"send one {self.file_field!r} part per request")
        for name in self.text_fields:
            if not self.fields.get(name):
                raise MissingFormField(
                    f"form field {name!r} is missing; send it before {self.file_field!r}"
                )
        self.filename = normalise_filename(part.filename or "")
        self.file_part = part

    async def _file_event(self, event: PartEvent) -> None:
        if isinstance(event, PartData):
            self.file_size += len(event.data)
            if self.file_size > self.max_bytes:
                raise UploadTooLarge(self.max_bytes)
            if self.writer is not None:
                await self.writer.write(event.data)
                return
            self.head += event.data
            if len(self.head) >= HEAD_BYTES:
                await self._open_writer()
        elif isinstance(event, PartEnd):
            if self.writer is None:
                await self._open_writer()
            self.file_done = True

    async def _open_writer(self) -> None:
        head, self.head = bytes(self.head), bytearray()
        declared = self.file_part.content_type if self.file_part else None
        self.content_type = declared or DEFAULT_CONTENT_TYPE
        if self.check_head is not None:
            self.content_type = self.check_head(self.filename, head, self.fields)
        self.writer = await self.open_writer(self.filename, self.content_type)
        await self.writer.write(head)
