"""A stand-in for the API behind nginx in scripts/check_deploy.sh.

Two roles, standard library only, no application code:
- a tiny fake of the public contract in API.md that scripts/smoke_test.sh uses
  (/health, /api/v1/me, course create/get/delete, material upload, X-Request-ID,
  RateLimit-* headers, 401 on a wrong key), so the smoke test itself is exercised
  through the real nginx conf;
- for any other path, or any request with the header X-Stub-Echo: 1, JSON describing what
  reached it (method, path, headers, number of body bytes), so the proxy behaviour
  of the nginx conf can be checked.

    python3 scripts/lib/stub_upstream.py PORT
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


FAKE_KEY = "cs_live_0123456789abcdef0123456789abcdef"
COURSES: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _read_body(self) -> int:
        length = self.headers.get("Content-Length")
        total = 0
        if length is not None:
            remaining = int(length)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                total += len(chunk)
                remaining -= len(chunk)
        elif "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                remaining = size
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    total += len(chunk)
                    remaining -= len(chunk)
                self.rfile.readline()
        return total

    def _send(self, status: int, payload: object | None, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        rid = self.headers.get("X-Request-ID") or uuid.uuid4().hex
        self.send_header("X-Request-ID", rid)
        for k, v in headers.items():
            self.send_header(k, v)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fake_api(self, body_bytes: int) -> bool:
        path = self.path.split("?")[0]
        if path == "/health" and self.command == "GET":
            self._send(200, {"status": "ok", "checks": {"db": "ok", "storage": "ok"}}, {})
            return True
        if not path.startswith("/api/v1/"):
            return False
        if self.headers.get("X-API-Key") != FAKE_KEY:
            self._send(401, {"detail": "Invalid or missing API key"}, {})
            return True
        limits = {"RateLimit-Limit": "60", "RateLimit-Remaining": "59", "RateLimit-Reset": "60"}
        m = re.fullmatch(r"/api/v1/courses/([^/]+)(/materials)?", path)
        if path == "/api/v1/me" and self.command == "GET":
            self._send(200, {"tenant_id": "t1", "tenant_name": "fake"}, limits)
        elif path == "/api/v1/courses" and self.command == "POST":
            cid = uuid.uuid4().hex
            COURSES.add(cid)
            self._send(201, {"id": cid, "title": "t"}, limits)
        elif m and m.group(1) not in COURSES:
            self._send(404, {"detail": "Course not found"}, limits)
        elif m and m.group(2) and self.command == "POST":
            self._send(201, {"id": uuid.uuid4().hex, "status": "pending",
                             "size_bytes": body_bytes}, limits)
        elif m and self.command == "GET":
            self._send(200, {"id": m.group(1), "materials": []}, limits)
        elif m and self.command == "DELETE":
            COURSES.discard(m.group(1))
            self._send(204, None, limits)
        else:
            return False
        return True

    def _answer(self) -> None:
        body_bytes = self._read_body()
        if self.headers.get("X-Stub-Echo") != "1" and self._fake_api(body_bytes):
            return
        payload = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_bytes": body_bytes,
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    port = int(sys.argv[1])
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
