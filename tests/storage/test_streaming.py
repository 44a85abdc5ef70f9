from __future__ import annotations

import hashlib
import itertools
import os
import tracemalloc
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path

import pytest

from course_supporter.storage import (
    FormFieldTooLarge,
    InvalidFilename,
    LocalStorage,
    MalformedMultipart,
    MissingFormField,
    ObjectWriter,
    S3Storage,
    UploadTooLarge,
    material_key,
    receive_multipart_upload,
)
from course_supporter.storage.errors import PartHeadersTooLarge, TooManyParts
from course_supporter.storage.streaming import HEAD_BYTES, MAX_PART_HEADER_BYTES, MAX_PARTS
from tests.storage.conftest import PART_SIZE, BucketView

BOUNDARY = "----course-supporter-test-7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
ODD_SIZES = (1, 3, 7, 4099, 65_537, 100_003, 2, 8191)


class ClientDisconnect(Exception):
    """Stands in for starlette.requests.ClientDisconnect."""


class NotAllowed(Exception):
    """What an endpoint's content sniffing might raise (it would map to 415)."""


def text_part(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def file_part(data: bytes, filename: str = "talk.mp4", content_type: str = "video/mp4") -> bytes:
    header = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
    )
    return header.encode() + data + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def in_chunks(body: bytes, sizes: Iterable[int] = ODD_SIZES) -> AsyncIterator[bytes]:
    offset = 0
    for size in itertools.cycle(sizes):
        if offset >= len(body):
            return
        yield body[offset : offset + size]
        offset += size


async def disconnect_after(body: bytes, sent: int) -> AsyncIterator[bytes]:
    async for chunk in in_chunks(body[:sent], [64 * 1024]):
        yield chunk
    raise ClientDisconnect


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class Recorder:
    """open_writer and check_head callbacks that remember how they were called."""

    def __init__(self, storage: LocalStorage | S3Storage) -> None:
        self.storage = storage
        self.opened: list[tuple[str, str]] = []
        self.heads: list[tuple[str, bytes, dict[str, str]]] = []

    async def open_writer(self, filename: str, content_type: str) -> ObjectWriter:
        self.opened.append((filename, content_type))
        return await self.storage.open_writer(
            material_key("t1", "c1", "m1", filename), content_type
        )

    def check_head(self, filename: str, head: bytes, fields: Mapping[str, str]) -> str:
        self.heads.append((filename, head, dict(fields)))
        return "video/mp4"


async def test_odd_sized_chunks_reach_local_storage_intact(local_storage: LocalStorage) -> None:
    data = os.urandom(300_000)
    body = form(text_part("source_type", "video"), file_part(data, "../Lecture 1.mp4"))
    recorder = Recorder(local_storage)

    received = await receive_multipart_upload(
        in_chunks(body),
        CONTENT_TYPE,
        open_writer=recorder.open_writer,
        check_head=recorder.check_head,
        max_bytes=10**6,
    )

    assert received.fields == {"source_type": "video"}
    assert received.filename == "../Lecture 1.mp4"
    assert received.content_type == "video/mp4"
    assert received.stored.size == len(data)
    assert received.stored.sha256 == hashlib.sha256(data).hexdigest()
    [(filename, head, fields)] = recorder.heads
    assert (filename, fields) == ("../Lecture 1.mp4", {"source_type": "video"})
    assert len(head) >= HEAD_BYTES
    assert data.startswith(head)
    key = "tenants/t1/courses/c1/materials/m1/Lecture_1.mp4"
    assert received.stored.key == key
    assert (local_storage.root / key).read_bytes() == data


async def test_without_check_head_the_declared_content_type_is_stored(
    local_storage: LocalStorage,
) -> None:
    body = form(text_part("source_type", "text"), file_part(b"# Title\n", "a.md", "text/markdown"))
    recorder = Recorder(local_storage)
    received = await receive_multipart_upload(
        in_chunks(body), CONTENT_TYPE, open_writer=recorder.open_writer, max_bytes=100
    )
    assert received.content_type == "text/markdown"
    assert recorder.opened == [("a.md", "text/markdown")]


async def test_multipart_s3_upload_from_odd_chunks(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    data = os.urandom(2 * PART_SIZE + 12_345)
    body = form(text_part("source_type", "video"), file_part(data))
    received = await receive_multipart_upload(
        in_chunks(body),
        CONTENT_TYPE,
        open_writer=Recorder(s3_storage).open_writer,
        max_bytes=len(data),
    )
    assert received.stored.sha256 == hashlib.sha256(data).hexdigest()
    assert bucket_view.read(received.stored.key) == data
    assert bucket_view.etag(received.stored.key).rstrip('"').endswith(("-2", "-3"))  # multipart


async def test_client_disconnect_mid_stream_aborts_the_s3_upload(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    body = form(text_part("source_type", "video"), file_part(os.urandom(3 * PART_SIZE)))
    with pytest.raises(ClientDisconnect):
        await receive_multipart_upload(
            disconnect_after(body, 2 * PART_SIZE + 100),
            CONTENT_TYPE,
            open_writer=Recorder(s3_storage).open_writer,
            max_bytes=10 * PART_SIZE,
        )
    assert bucket_view.open_uploads() == []
    assert bucket_view.keys() == []


async def test_client_disconnect_mid_stream_leaves_no_local_file(
    local_storage: LocalStorage,
) -> None:
    body = form(text_part("source_type", "video"), file_part(os.urandom(3_000_000)))
    with pytest.raises(ClientDisconnect):
        await receive_multipart_upload(
            disconnect_after(body, 2_000_000),
            CONTENT_TYPE,
            open_writer=Recorder(local_storage).open_writer,
            max_bytes=10**7,
        )
    assert files_under(local_storage.root) == []


async def test_too_large_mid_stream_aborts(s3_storage: S3Storage, bucket_view: BucketView) -> None:
    body = form(text_part("source_type", "video"), file_part(os.urandom(PART_SIZE + 1000)))
    with pytest.raises(UploadTooLarge):
        await receive_multipart_upload(
            in_chunks(body, [64 * 1024]),
            CONTENT_TYPE,
            open_writer=Recorder(s3_storage).open_writer,
            max_bytes=PART_SIZE + 999,
        )
    assert bucket_view.open_uploads() == []
    assert bucket_view.keys() == []


async def test_check_head_rejection_stores_nothing(local_storage: LocalStorage) -> None:
    recorder = Recorder(local_storage)

    def refuse(filename: str, head: bytes, fields: Mapping[str, str]) -> str:
        raise NotAllowed(f"{filename} is not a video")

    body = form(text_part("source_type", "video"), file_part(b"MZ\x90\x00" * 10_000, "x.exe"))
    with pytest.raises(NotAllowed, match=r"x\.exe is not a video"):
        await receive_multipart_upload(
            in_chunks(body),
            CONTENT_TYPE,
            open_writer=recorder.open_writer,
            check_head=refuse,
            max_bytes=10**6,
        )
    assert recorder.opened == []
    assert files_under(local_storage.root) == []


async def test_check_head_sees_the_whole_file_when_it_is_small(
    local_storage: LocalStorage,
) -> None:
    recorder = Recorder(local_storage)
    body = form(text_part("source_type", "text"), file_part(b"tiny", "a.txt"))
    await receive_multipart_upload(
        in_chunks(body),
        CONTENT_TYPE,
        open_writer=recorder.open_writer,
        check_head=recorder.check_head,
        max_bytes=100,
    )
    assert recorder.heads[0][1] == b"tiny"


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (form(text_part("source_type", "video")), MissingFormField, "'file' with the file"),
        (form(file_part(b"data")), MissingFormField, "'source_type' is missing"),
        (
            form(file_part(b"data"), text_part("source_type", "video")),
            MissingFormField,
            "send it before 'file'",
        ),
        (
            form(text_part("source_type", "v" * 2000), file_part(b"data")),
            FormFieldTooLarge,
            "longer than 1024 bytes",
        ),
        (
            form(text_part("source_type", "a"), text_part("source_type", "b"), file_part(b"d")),
            MalformedMultipart,
            "more than once",
        ),
        (
            form(text_part("source_type", "a"), file_part(b"one"), file_part(b"two")),
            MalformedMultipart,
            "one 'file' part",
        ),
        (b"this is not multipart at all\r\n" * 100, MalformedMultipart, "malformed"),
        (
            form(text_part("source_type", "video"))[: -len(f"--{BOUNDARY}--\r\n")]
            + file_part(b"x" * 50_000)[:30_000],
            MalformedMultipart,
            "ended before the file part was complete",
        ),
    ],
    ids=[
        "no-file",
        "no-source-type",
        "source-type-after-file",
        "oversized-field",
        "duplicate-field",
        "two-files",
        "garbage",
        "truncated",
    ],
)
async def test_bad_forms_are_rejected_and_leave_nothing(
    local_storage: LocalStorage, body: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await receive_multipart_upload(
            in_chunks(body),
            CONTENT_TYPE,
            open_writer=Recorder(local_storage).open_writer,
            max_bytes=10**6,
        )
    assert files_under(local_storage.root) == []


@pytest.mark.parametrize("header", ["application/json", "multipart/form-data", ""])
async def test_a_non_multipart_content_type_is_malformed(
    local_storage: LocalStorage, header: str
) -> None:
    with pytest.raises(MalformedMultipart, match="expected multipart/form-data"):
        await receive_multipart_upload(
            in_chunks(b"{}"),
            header,
            open_writer=Recorder(local_storage).open_writer,
            max_bytes=10,
        )


class DiscardingWriter(ObjectWriter):
    """Counts and hashes but keeps nothing, so only the parser's own memory is measured."""

    async def _write(self, chunk: bytes) -> None:
        pass

    async def _complete(self) -> None:
        pass

    async def _abort(self) -> None:
        pass


async def test_parser_memory_stays_flat_whatever_the_chunk_size() -> None:
    file_size = 64 * 1024 * 1024
    chunk = 4 * 1024 * 1024
    head = text_part("source_type", "video") + file_part(b"")[:-2]
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(file_size // chunk):
            yield bytes(chunk)
        yield tail

    async def open_writer(filename: str, content_type: str) -> ObjectWriter:
        return DiscardingWriter("k", file_size)

    tracemalloc.start()
    try:
        received = await receive_multipart_upload(
            body(), CONTENT_TYPE, open_writer=open_writer, max_bytes=file_size
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received.stored.size == file_size
    assert peak < 2 * chunk + 1024 * 1024  # the current and next chunk, never the 64 MiB


class CountingBody:
    """A body produced on demand, remembering how much of it the parser pulled."""

    def __init__(self, *pieces: bytes | Iterable[bytes]) -> None:
        self.pieces = pieces
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            for chunk in [piece] if isinstance(piece, bytes) else piece:
                self.pulled += len(chunk)
                yield chunk


def repeated(chunk: bytes, total: int) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


@pytest.mark.parametrize("size", [100_000, 100 * 1024 * 1024], ids=["100KB", "100MB"])
async def test_a_huge_filename_is_refused_before_it_is_buffered(
    local_storage: LocalStorage, size: int
) -> None:
    start = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
    body = CountingBody(
        text_part("source_type", "video"), start, repeated(b"a" * 65_536, size), b'"\r\n\r\nx'
    )
    recorder = Recorder(local_storage)
    with pytest.raises(PartHeadersTooLarge, match=f"longer than {MAX_PART_HEADER_BYTES} bytes"):
        await receive_multipart_upload(
            body, CONTENT_TYPE, open_writer=recorder.open_writer, max_bytes=10**9
        )
    assert body.pulled < MAX_PART_HEADER_BYTES + 2 * 65_536  # stopped at the cap, not at 100 MB
    assert recorder.opened == []


async def test_a_64k_part_header_is_refused(local_storage: LocalStorage) -> None:
    junk = f"X-Padding: {'p' * 64 * 1024}\r\n"
    part = file_part(b"data").replace(b"Content-Type:", junk.encode() + b"Content-Type:")
    with pytest.raises(PartHeadersTooLarge):
        await receive_multipart_upload(
            in_chunks(form(text_part("source_type", "video"), part)),
            CONTENT_TYPE,
            open_writer=Recorder(local_storage).open_writer,
            max_bytes=10**6,
        )
    assert files_under(local_storage.root) == []


async def test_sixty_thousand_parts_are_refused_at_the_cap(local_storage: LocalStorage) -> None:
    tiny = text_part("junk", "")
    first = text_part("source_type", "video")
    body = CountingBody(first, repeated(tiny, 60_000 * len(tiny)))
    with pytest.raises(TooManyParts, match=f"more than {MAX_PARTS} parts"):
        await receive_multipart_upload(
            body, CONTENT_TYPE, open_writer=Recorder(local_storage).open_writer, max_bytes=10**6
        )
    assert body.pulled <= len(first) + MAX_PARTS * len(tiny)


async def test_parts_with_other_names_are_skipped(local_storage: LocalStorage) -> None:
    body = form(
        text_part("note", "ignored"),
        text_part("source_type", "text"),
        text_part("other", "x" * 5000),
        file_part(b"# Title\n", "a.md", "text/markdown"),
    )
    received = await receive_multipart_upload(
        in_chunks(body),
        CONTENT_TYPE,
        open_writer=Recorder(local_storage).open_writer,
        max_bytes=100,
    )
    assert received.fields == {"source_type": "text"}
    assert received.stored.size == len(b"# Title\n")


def raw_file_part(filename: bytes, disposition_tail: bytes = b"") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + b'"'
        + disposition_tail
        + b"\r\nContent-Type: text/markdown\r\n\r\n# T\n\r\n"
    )


@pytest.mark.parametrize(
    ("filename", "error", "message"),
    [
        (b"a" * 253 + b".md", InvalidFilename, "256 bytes long"),
        ("\u00e9".encode() * 126 + b"a.md", InvalidFilename, "256 bytes"),  # 130 characters
        (b"notes\x00.md", InvalidFilename, "NUL"),
        (b"notes\x01\x7f.md", InvalidFilename, "control characters"),
        (b"notes\xff\xfe.md", MalformedMultipart, "not UTF-8"),
    ],
    ids=["256-bytes", "256-bytes-in-128-chars", "nul", "control", "not-utf8"],
)
async def test_bad_filenames_are_refused_before_anything_is_stored(
    local_storage: LocalStorage, filename: bytes, error: type[Exception], message: str
) -> None:
    recorder = Recorder(local_storage)
    body = form(text_part("source_type", "text"), raw_file_part(filename))
    with pytest.raises(error, match=message):
        await receive_multipart_upload(
            in_chunks(body), CONTENT_TYPE, open_writer=recorder.open_writer, max_bytes=100
        )
    assert recorder.opened == []
    assert files_under(local_storage.root) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a" * 252 + b".md", "a" * 252 + b".md".decode()),  # 255 bytes: the most allowed
        (b"  spaced.md  ", "spaced.md"),
        ("Cafe\u0301.md".encode(), "Caf\u00e9.md"),  # NFC
        (b"  " + b"a" * 252 + b".md  ", "a" * 252 + ".md"),  # trimmed before it is measured
    ],
    ids=["255-bytes", "trimmed", "nfc", "trimmed-then-measured"],
)
async def test_filenames_are_normalised(
    local_storage: LocalStorage, raw: bytes, expected: str
) -> None:
    body = form(text_part("source_type", "text"), raw_file_part(raw))
    received = await receive_multipart_upload(
        in_chunks(body),
        CONTENT_TYPE,
        open_writer=Recorder(local_storage).open_writer,
        max_bytes=100,
    )
    assert received.filename == expected


async def test_an_rfc2231_filename_is_decoded(local_storage: LocalStorage) -> None:
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        "filename*=UTF-8''%D0%9B%D0%B5%D0%BA%D1%86%D1%96%D1%8F.md\r\n\r\n# T\n\r\n"
    ).encode()
    received = await receive_multipart_upload(
        in_chunks(form(text_part("source_type", "text"), part)),
        CONTENT_TYPE,
        open_writer=Recorder(local_storage).open_writer,
        max_bytes=100,
    )
    assert received.filename == "\u041b\u0435\u043a\u0446\u0456\u044f.md"
