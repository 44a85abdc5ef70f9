"""Incremental multipart/form-data upload: the request body flows into an `ObjectWriter`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from streaming_form_data import ParseFailedException, StreamingFormDataParser
from streaming_form_data.targets import BaseTarget

from course_supporter.storage.backend import ObjectWriter, StoredObject
from course_supporter.storage.errors import (
    FormFieldTooLarge,
    MalformedMultipart,
    MissingFormField,
    UploadTooLarge,
)

HEAD_BYTES = 8 * 1024
FEED_BYTES = 64 * 1024
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
) -> ReceivedUpload:
    """Parse the body as it arrives and stream the file part into storage.

    Every name in `text_fields` must arrive before the file part; `optional_fields` may, to
    be seen by `check_head`. `check_head(filename,
    head, fields)` gets at least the first 8 KiB (or the whole file if smaller) before
    anything is stored, may raise to reject the
    file, and returns the content type to store; `open_writer(filename, content_type)`
    then opens the destination. Any error — including one raised by `body` when the
    client disconnects — aborts the writer, so nothing partial is left.
    """
    try:
        parser = StreamingFormDataParser({"Content-Type": content_type_header})
    except ParseFailedException as error:
        raise MalformedMultipart(
            f"expected multipart/form-data with a boundary: {error}"
        ) from error
    events: list[_PartEvent] = []
    for name in {*text_fields, *optional_fields, file_field}:
        parser.register(name, _RecordingTarget(name, events))
    form = _FormAssembly(
        text_fields=text_fields,
        file_field=file_field,
        max_field_bytes=max_field_bytes,
        max_bytes=max_bytes,
        open_writer=open_writer,
        check_head=check_head,
    )
    try:
        async for chunk in body:
            for start in range(0, len(chunk), FEED_BYTES):
                try:
                    parser.data_received(chunk[start : start + FEED_BYTES])
                except ParseFailedException as error:
                    raise MalformedMultipart(f"malformed multipart body: {error}") from error
                for event in events:
                    await form.handle(event)
                events.clear()
        return await form.finish()
    except BaseException:
        events.clear()
        await form.abort()
        raise


@dataclass(slots=True)
class _PartEvent:
    kind: Literal["start", "data", "end"]
    target: _RecordingTarget
    data: bytes = b""


class _RecordingTarget(BaseTarget):  # type: ignore[misc]
    """Queues what the (synchronous) parser hands over, so the caller can await the writes."""

    def __init__(self, name: str, events: list[_PartEvent]) -> None:
        super().__init__()
        self.name = name
        self._events = events

    def on_start(self) -> None:
        self._events.append(_PartEvent("start", self))

    def on_data_received(self, chunk: bytes) -> None:
        self._events.append(_PartEvent("data", self, chunk))

    def on_finish(self) -> None:
        self._events.append(_PartEvent("end", self))


@dataclass(slots=True)
class _FormAssembly:
    """Turns part events into text fields and one stored file, enforcing order and limits."""

    text_fields: Collection[str]
    file_field: str
    max_field_bytes: int
    max_bytes: int
    open_writer: OpenWriter
    check_head: CheckHead | None
    fields: dict[str, str] = field(default_factory=dict)
    field_buffer: bytearray = field(default_factory=bytearray)
    head: bytearray = field(default_factory=bytearray)
    file_target: _RecordingTarget | None = None
    file_done: bool = False
    file_size: int = 0
    content_type: str = DEFAULT_CONTENT_TYPE
    writer: ObjectWriter | None = None

    async def handle(self, event: _PartEvent) -> None:
        if event.target.name == self.file_field:
            await self._handle_file(event)
        else:
            self._handle_text(event)

    async def finish(self) -> ReceivedUpload:
        if self.file_target is None:
            raise MissingFormField(f"form field {self.file_field!r} with the file is missing")
        if not self.file_done:
            raise MalformedMultipart("the request body ended before the file part was complete")
        assert self.writer is not None
        stored = await self.writer.complete()
        return ReceivedUpload(self.fields, self._filename, self.content_type, stored)

    async def abort(self) -> None:
        self.head = bytearray()
        if self.writer is not None:
            await asyncio.shield(self.writer.abort())

    def _handle_text(self, event: _PartEvent) -> None:
        name = event.target.name
        if event.kind == "start":
            if name in self.fields:
                raise MalformedMultipart(f"form field {name!r} was sent more than once")
            self.field_buffer = bytearray()
        elif event.kind == "data":
            self.field_buffer += event.data
            if len(self.field_buffer) > self.max_field_bytes:
                raise FormFieldTooLarge(
                    f"form field {name!r} is longer than {self.max_field_bytes} bytes"
                )
        else:
            try:
                self.fields[name] = self.field_buffer.decode().strip()
            except UnicodeDecodeError as error:
                raise MalformedMultipart(f"form field {name!r} is not UTF-8 text") from error

    async def _handle_file(self, event: _PartEvent) -> None:
        if event.kind == "start":
            if self.file_target is not None:
                raise MalformedMultipart(f"send one {self.file_field!r} part per request")
            for name in self.text_fields:
                if not self.fields.get(name):
                    raise MissingFormField(
                        f"form field {name!r} is missing; send it before {self.file_field!r}"
                    )
            self.file_target = event.target
        elif event.kind == "data":
            self.file_size += len(event.data)
            if self.file_size > self.max_bytes:
                raise UploadTooLarge(self.max_bytes)
            if self.writer is not None:
                await self.writer.write(event.data)
                return
            self.head += event.data
            if len(self.head) >= HEAD_BYTES:
                await self._open_writer()
        else:
            if self.writer is None:
                await self._open_writer()
            self.file_done = True

    async def _open_writer(self) -> None:
        head, self.head = bytes(self.head), bytearray()
        declared = self.file_target.multipart_content_type if self.file_target else None
        self.content_type = declared or DEFAULT_CONTENT_TYPE
        if self.check_head is not None:
            self.content_type = self.check_head(self._filename, head, self.fields)
        self.writer = await self.open_writer(self._filename, self.content_type)
        await self.writer.write(head)

    @property
    def _filename(self) -> str:
        return (self.file_target.multipart_filename if self.file_target else None) or ""
