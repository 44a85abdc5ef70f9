"""yt-dlp's only HTTP transport: every hop passes the SSRF guard, fetched from its checked IP."""

from __future__ import annotations

import email.message
import io
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from yt_dlp.networking.common import Request, RequestHandler, Response
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.fetching import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    FetchTarget,
    pinned_request,
    redirect_target,
    resolve_fetch_target,
)

_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding")


class RefusedRequest(RequestError):  # type: ignore[misc]
    """A hop the SSRF guard refused; yt-dlp treats it as a failed request, never connected."""

    def __init__(self, refusal: IngestionError) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class PinnedHttpRH(RequestHandler):  # type: ignore[misc]
    """Checks each hop, connects to the checked address, and follows redirects itself."""

    _SUPPORTED_URL_SCHEMES = ("http", "https", "data")
    # No proxy is ever used: a request must go to the address that was checked.
    _SUPPORTED_PROXY_SCHEMES = None
    _SUPPORTED_FEATURES = None

    def __init__(
        self, *, settings: Settings, on_refusal: Callable[[IngestionError], None], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.fetch_settings = settings
        self.on_refusal = on_refusal
        self._ssl_contexts: dict[bool, ssl.SSLContext] = {}

    def _check_extensions(self, extensions: dict[str, Any]) -> None:
        super()._check_extensions(extensions)
        for name in ("cookiejar", "timeout", "legacy_ssl", "keep_header_casing"):
            extensions.pop(name, None)

    def _send(self, request: Request) -> Response:
        if urllib.parse.urlsplit(request.url).scheme == "data":
            return _data_response(request.url)
        method: str = request.method
        url: str = request.url
        headers = httpx.Headers(self._get_headers(request))
        content = _body_bytes(request.data)
        cookiejar = self._get_cookiejar(request)
        timeout = httpx.Timeout(self._calculate_timeout(request))
        verify = self._ssl_context(bool(request.extensions.get("legacy_ssl")))
        for _hop in range(MAX_REDIRECTS + 1):
            target = self._check(url)
            hop_headers = headers.copy()
            cookie = cookiejar.get_cookie_header(str(target.url))
            if cookie:
                hop_headers["Cookie"] = cookie
            # A client per hop: its pool must never reuse a connection made for another host.
            client = httpx.Client(timeout=timeout, verify=verify, trust_env=False)
            try:
                response = client.send(
                    pinned_request(client, method, target, hop_headers, content), stream=True
                )
            except Exception as error:
                client.close()
                if isinstance(error, httpx.HTTPError):
                    raise _transport_error(error) from error
                raise
            # The Request only tells the cookie jar which URL answered; nothing is opened.
            hop_request = urllib.request.Request(str(target.url))  # noqa: S310
            cookiejar.extract_cookies(_CookieSource(response), hop_request)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                answer = _PinnedResponse(response, client, str(target.url))
                if answer.status >= 400:
                    raise HTTPError(answer)
                return answer
            response.close()
            client.close()
            next_url = self._redirect(target, location)
            if urllib.parse.urlsplit(next_url)[:2] != urllib.parse.urlsplit(url)[:2]:
                for name in _CREDENTIAL_HEADERS:
                    headers.pop(name, None)
            redirected = _redirect_method(method, response.status_code)
            if redirected != method or response.status_code == 303:
                content = None
                for name in _BODY_HEADERS:
                    headers.pop(name, None)
            method, url = redirected, next_url
        raise self._refuse(
            IngestionError(f"The URL redirects more than {MAX_REDIRECTS} times; give the final URL")
        )

    def _ssl_context(self, legacy: bool) -> ssl.SSLContext:
        if legacy not in self._ssl_contexts:
            self._ssl_contexts[legacy] = self._make_sslcontext(legacy_ssl_support=legacy)
        return self._ssl_contexts[legacy]

    def _check(self, url: str) -> FetchTarget:
        try:
            return resolve_fetch_target(url, self.fetch_settings)
        except IngestionError as error:
            raise self._refuse(error) from None

    def _redirect(self, target: FetchTarget, location: str) -> str:
        try:
            return str(redirect_target(target, location))
        except IngestionError as error:
            raise self._refuse(error) from None

    def _refuse(self, refusal: IngestionError) -> RefusedRequest:
        self.on_refusal(refusal)
        return RefusedRequest(refusal)


class _PinnedResponse(Response):  # type: ignore[misc]
    """A streamed httpx response as yt-dlp's Response; closing it closes its connection."""

    def __init__(self, response: httpx.Response, client: httpx.Client, url: str) -> None:
        super().__init__(
            fp=_StreamedBody(response, client),
            url=url,
            headers=response.headers,
            status=response.status_code,
            reason=response.reason_phrase or None,
        )

    def read(self, amt: int | None = None) -> bytes:
        try:
            data: bytes = self.fp.read(-1 if amt is None else amt)
        except httpx.HTTPError as error:
            raise _transport_error(error) from error
        if self.fp.closed:
            self.close()
        return data


class _StreamedBody(io.RawIOBase):
    def __init__(self, response: httpx.Response, client: httpx.Client) -> None:
        self._response = response
        self._client = client
        self._pieces: Iterator[bytes] = response.iter_bytes()
        self._piece = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._piece):
            piece = None if self.closed else next(self._pieces, None)
            if piece is None:
                self.close()  # at the end, like urllib's responses: the connection goes back
                return 0
            self._piece, self._offset = piece, 0
        size = min(len(buffer), len(self._piece) - self._offset)
        buffer[:size] = self._piece[self._offset : self._offset + size]
        self._offset += size
        return size

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._client.close()
        super().close()


class _CookieSource:
    """The `info()` face of a response that http.cookiejar reads Set-Cookie from."""

    def __init__(self, response: httpx.Response) -> None:
        self._headers = email.message.Message()
        for name, value in response.headers.multi_items():
            self._headers[name] = value

    def info(self) -> email.message.Message:
        return self._headers


def _transport_error(error: httpx.HTTPError) -> TransportError:
    """A yt-dlp error whose text names neither the host, the port nor the HTTP library."""
    if isinstance(error, httpx.TimeoutException):
        return TransportError("the video host timed out")
    if isinstance(error, httpx.ConnectError):
        return TransportError("could not connect to the video host")
    return TransportError("the video host did not answer over HTTP")


def _redirect_method(method: str, status: int) -> str:
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


def _body_bytes(data: Any) -> bytes | None:
    if data is None or isinstance(data, bytes):
        return data
    if hasattr(data, "read"):
        return bytes(data.read())
    return b"".join(data)


def _data_response(url: str) -> Response:
    # Only data: URLs come here (checked in _send): decoded in memory, no network.
    opened = urllib.request.DataHandler().data_open(urllib.request.Request(url))  # noqa: S310
    return Response(fp=opened, url=url, headers=dict(opened.headers.items()))
