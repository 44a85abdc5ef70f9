"""An incremental multipart/form-data parser that bounds what it buffers: part headers, parts.

Bytes go in with `feed`; out come part starts (with the parsed headers), data and ends. The
body of a part is never held beyond one fed chunk plus a boundary's length; a part's header
block past `max_header_bytes`, or more than `max_parts` parts, is refused on the spot rather
than read to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from enum import Enum, auto

from course_supporter.storage.errors import MalformedMultipart, PartHeadersTooLarge, TooManyParts


@dataclass(frozen=True, slots=True)
class PartStart:
    name: str | None
    filename: str | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class PartData:
    data: bytes


@dataclass(frozen=True, slots=True)
class PartEnd:
    pass


PartEvent = PartStart | PartData | PartEnd


class _State(Enum):
    FIRST_BOUNDARY = auto()
    AFTER_BOUNDARY = auto()
    HEADERS = auto()
    BODY = auto()
    DONE = auto()


def boundary_of(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` content type; MalformedMultipart otherwise."""
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/form-data":
        raise MalformedMultipart("expected multipart/form-data with a boundary")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise MalformedMultipart("expected multipart/form-data with a boundary of 1-70 characters")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError as error:
        raise MalformedMultipart("the multipart boundary must be ASCII") from error


class MultipartParser:
    def __init__(self, boundary: bytes, *, max_header_bytes: int, max_parts: int) -> None:
        self._first = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._max_header_bytes = max_header_bytes
        self._max_parts = max_parts
        self._parts = 0
        self._state = _State.FIRST_BOUNDARY
        self._buffer = bytearray()
        self._searched = 0  # header bytes already searched for their end, less 3

    @property
    def done(self) -> bool:
        """The closing boundary arrived; anything after it is ignored."""
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[PartEvent]:
        if self._state is _State.DONE:
            return []
        self._buffer += data
        events: list[PartEvent] = []
        while self._step(events):
            pass
        return events

    def _step(self, events: list[PartEvent]) -> bool:
        """Consume what the buffer allows; False when more bytes are needed."""
        buffer = self._buffer
        if self._state is _State.FIRST_BOUNDARY:
            seen = bytes(buffer[: len(self._first)])
            if not self._first.startswith(seen):
                raise MalformedMultipart("malformed multipart body: it must open with --boundary")
            if len(seen) < len(self._first):
                return False
            del buffer[: len(self._first)]
            self._state = _State.AFTER_BOUNDARY
            return True
        if self._state is _State.AFTER_BOUNDARY:
            if len(buffer) < 2:
                return False
            if buffer.startswith(b"--"):
                self._state = _State.DONE
                buffer.clear()
                return False
            if not buffer.startswith(b"\r\n"):
                raise MalformedMultipart("malformed multipart body: junk after a boundary")
            self._parts += 1
            if self._parts > self._max_parts:
                raise TooManyParts(f"the form has more than {self._max_parts} parts")
            # Keep the CRLF: a block with no headers is then found like any other.
            self._state = _State.HEADERS
            return True
        if self._state is _State.HEADERS:
            end = buffer.find(b"\r\n\r\n", self._searched)
            if end < 0 or end > self._max_header_bytes:
                if len(buffer) > self._max_header_bytes:
                    raise PartHeadersTooLarge(
                        f"the headers of a form part are longer than {self._max_header_bytes} bytes"
                    )
                self._searched = max(0, len(buffer) - 3)
                return False
            events.append(_part_start(bytes(buffer[2:end])))
            del buffer[: end + 4]
            self._searched = 0
            self._state = _State.BODY
            return True
        if self._state is _State.BODY:
            end = buffer.find(self._delimiter)
            if end >= 0:
                if end:
                    events.append(PartData(bytes(buffer[:end])))
                events.append(PartEnd())
                del buffer[: end + len(self._delimiter)]
                self._state = _State.AFTER_BOUNDARY
                return True
            # All but a possible start of the delimiter is part data.
            safe = len(buffer) - len(self._delimiter) + 1
            if safe > 0:
                events.append(PartData(bytes(buffer[:safe])))
                del buffer[:safe]
            return False
        return False


def _part_start(block: bytes) -> PartStart:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedMultipart(
            "the headers of a form part are not UTF-8 text (file names must be UTF-8)"
        ) from error
    message = Message()
    for line in text.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MalformedMultipart(f"malformed form part header line {line[:80]!r}")
        message[name.strip()] = value.strip()
    if message.get("content-disposition") is None:
        raise MalformedMultipart("a form part has no Content-Disposition header")
    if message.get_content_disposition() != "form-data":
        raise MalformedMultipart("a form part's Content-Disposition must be form-data")
    field_name = message.get_param("name", header="content-disposition")
    content_type = message.get_content_type() if message.get("content-type") else None
    return PartStart(
        name=None if field_name is None else collapse_rfc2231_value(field_name),
        filename=message.get_filename(),
        content_type=content_type,
    )
