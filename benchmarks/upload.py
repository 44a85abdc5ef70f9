"""Upload memory and throughput: 1 GiB through the API (real uvicorn) vs a direct boto3 upload.

Run: .venv/bin/python benchmarks/upload.py [--size-mib 1024]

Starts a moto S3 server and the API (`python -m course_supporter serve`, embedded SQLite),
streams the file as multipart/form-data to the local backend and to S3, samples the server's
VmRSS every 50 ms, then uploads the same file with boto3 `upload_file` (10 MiB parts) to
the same S3 server. Targets: RSS growth <= 32 MiB, API/direct throughput >= 0.7.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
from boto3.s3.transfer import TransferConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api_server import ApiServer, run_api_server
from tests.s3_server import S3Server, run_s3_server

MIB = 1024 * 1024
PART_BYTES = 10 * MIB
READ_BYTES = 1 * MIB
SAMPLE_SECONDS = 0.05
TARGET_RSS_GROWTH_MIB = 32
TARGET_RATIO = 0.7
BOUNDARY = "benchmarkboundary7f3a"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def write_file(path: Path, size: int) -> None:
    """An MP4-headed file of incompressible-looking bytes (one random MiB, repeated)."""
    block = os.urandom(MIB)
    with path.open("wb") as file:
        file.write(MP4_HEAD)
        written = len(MP4_HEAD)
        while written < size:
            piece = block[: size - written]
            file.write(piece)
            written += len(piece)


class RssSampler:
    """Reads VmRSS of one process from /proc every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.rss())
            self._stop.wait(SAMPLE_SECONDS)


@dataclass
class Result:
    name: str
    seconds: float
    size: int
    baseline: int | None = None
    peak: int | None = None

    @property
    def mb_per_s(self) -> float:
        return self.size / MIB / self.seconds

    def line(self) -> str:
        text = f"{self.name:<18} {self.seconds:7.2f} s  {self.mb_per_s:7.1f} MiB/s"
        if self.baseline is not None and self.peak is not None:
            text += (
                f"  RSS idle {self.baseline / MIB:6.1f} MiB, peak {self.peak / MIB:6.1f} MiB, "
                f"growth {(self.peak - self.baseline) / MIB:5.1f} MiB"
            )
        return text


def multipart_body(path: Path) -> tuple[Iterator[bytes], int]:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="source_type"\r\n\r\nvideo\r\n'
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="lecture.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as file:
            while chunk := file.read(READ_BYTES):
                yield chunk
        yield tail

    return chunks(), len(head) + path.stat().st_size + len(tail)


def upload_through_api(server: ApiServer, path: Path, name: str) -> Result:
    headers = {"X-API-Key": server.new_key()}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=600) as client:
        course_id = client.post("/api/v1/courses", json={"title": "Benchmark"}).json()["id"]
        url = f"/api/v1/courses/{course_id}/materials"
        warm_up = path.parent / "warm-up.mp4"
        write_file(warm_up, 12 * MIB)  # loads lazy imports, opens pools
        body, length = multipart_body(warm_up)
        sent = client.post(url, content=body, headers=_form_headers(length))
        sent.raise_for_status()
        client.delete(f"{url}/{sent.json()['id']}").raise_for_status()
        time.sleep(1.0)
        with RssSampler(server.pid) as sampler:
            time.sleep(1.0)
            baseline = max(sampler.samples)
            body, length = multipart_body(path)
            started = time.perf_counter()
            response = client.post(url, content=body, headers=_form_headers(length))
            seconds = time.perf_counter() - started
            time.sleep(0.2)
        response.raise_for_status()
        assert response.json()["size_bytes"] == path.stat().st_size, response.text
        client.delete(f"{url}/{response.json()['id']}").raise_for_status()
    return Result(name, seconds, path.stat().st_size, baseline, max(sampler.samples))


def _form_headers(length: int) -> dict[str, str]:
    return {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(length),
    }


def upload_directly(s3: S3Server, path: Path, bucket: str) -> Result:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
        region_name=s3.region,
    )
    config = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES)
    started = time.perf_counter()
    client.upload_file(str(path), bucket, "direct/lecture.mp4", Config=config)
    seconds = time.perf_counter() - started
    assert client.head_object(Bucket=bucket, Key="direct/lecture.mp4")["ContentLength"] == (
        path.stat().st_size
    )
    client.delete_object(Bucket=bucket, Key="direct/lecture.mp4")
    return Result("direct boto3", seconds, path.stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        work = Path(tmp)
        path = work / "lecture.mp4"
        write_file(path, size)
        print(f"file: {size / MIB:.0f} MiB; part size {PART_BYTES // MIB} MiB")
        results = []
        with run_api_server(work / "local", MAX_UPLOAD_BYTES=str(2 * size)) as server:
            results.append(upload_through_api(server, path, "API -> local"))
        with run_s3_server() as s3:
            bucket = "benchmark"
            settings = {
                "MAX_UPLOAD_BYTES": str(2 * size),
                "STORAGE_BACKEND": "s3",
                "S3_ENDPOINT_URL": s3.endpoint_url,
                "S3_BUCKET": bucket,
                "S3_ACCESS_KEY_ID": s3.access_key_id,
                "S3_SECRET_ACCESS_KEY": s3.secret_access_key,
                "S3_PART_SIZE_BYTES": str(PART_BYTES),
            }
            with run_api_server(work / "s3", **settings) as server:
                results.append(upload_through_api(server, path, "API -> S3 (moto)"))
            direct = upload_directly(s3, path, bucket)
        results.append(direct)
    for result in results:
        print(result.line())
    api_s3 = results[1]
    ratio = api_s3.mb_per_s / direct.mb_per_s
    growth = max((r.peak or 0) - (r.baseline or 0) for r in results) / MIB
    print(f"API/direct throughput (S3): {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"largest RSS growth: {growth:.1f} MiB (target <= {TARGET_RSS_GROWTH_MIB} MiB)")
    ok = ratio >= TARGET_RATIO and growth <= TARGET_RSS_GROWTH_MIB
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
