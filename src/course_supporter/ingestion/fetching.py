"""Fetch web pages safely: public addresses only (SSRF guard), pinned IPs, capped size."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_TRANSIENT_DNS_ERRORS = frozenset({socket.EAI_AGAIN, socket.EAI_FAIL})
USER_AGENT = "CourseSupporter/0.1 (course material ingestion)"
INVALID_HOST_MESSAGE = (
    "The URL's host name is not valid (each dot-separated part must be 1 to 63 characters); "
    "check the URL"
)
# No host, port or resolved address: a refused hop must not tell a tenant what answers inside.
NOT_PUBLIC_MESSAGE = (
    "The URL, or a URL it redirects to, was refused: not a public address; "
    "only public web addresses can be fetched"
)


@dataclass(frozen=True)
class FetchTarget:
    """A URL that passed the SSRF check, with the address it must be fetched from."""

    url: httpx.URL
    address: str


@dataclass(frozen=True)
class FetchedPage:
    url: str
    content_type: str
    charset: str | None
    body: bytes

    def text(self) -> str:
        """The body decoded with the declared charset, UTF-8 otherwise."""
        try:
            return self.body.decode(self.charset or "utf-8", errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def is_public_address(address: IPAddress) -> bool:
    """True for globally routable unicast addresses that are not cloud-metadata endpoints."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and address not in METADATA_ADDRESSES
    )


def host_is_allow_listed(url: httpx.URL, allowed_hosts: Sequence[str]) -> bool:
    """True when the URL's host, or host:port, is in the operator's allow-list."""
    host = url.host.lower()
    port = url.port or (443 if url.scheme == "https" else 80)
    shown_host = f"[{host}]" if ":" in host else host
    candidates = {host, shown_host, f"{shown_host}:{port}"}
    return any(entry.strip().lower() in candidates for entry in allowed_hosts)


def host_name_is_valid(host: str) -> bool:
    """False for names DNS cannot carry: a dot-separated part empty or over 63 characters."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def lookup_addresses(host: str, port: int) -> list[IPAddress]:
    """The host's addresses (blocking DNS), as the one lookup a fetch of it may use."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        transient = error.errno in _TRANSIENT_DNS_ERRORS
        raise IngestionError(
            f"The host {host} could not be found; check the URL", transient=transient
        ) from None
    except UnicodeError:
        # The IDNA codec refuses empty labels and labels over 63 characters before any lookup.
        raise IngestionError(INVALID_HOST_MESSAGE) from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def resolve_fetch_target(url: str | httpx.URL, settings: Settings) -> FetchTarget:
    """Check a URL and resolve its host (blocking DNS); refuse non-public addresses."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise IngestionError(f"{url} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise IngestionError(f"{url} is not an http(s) URL; only web addresses can be fetched")
    if parsed.userinfo:
        raise IngestionError(f"{url} contains a user name or password; remove it from the URL")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = lookup_addresses(parsed.host, port)
    if not addresses:
        raise IngestionError(f"The host {parsed.host} has no address; check the URL")
    allowed = host_is_allow_listed(parsed, settings.fetch_allowed_hosts)
    if not allowed and not all(is_public_address(address) for address in addresses):
        raise IngestionError(NOT_PUBLIC_MESSAGE)
    return FetchTarget(url=parsed, address=str(addresses[0]))


def pinned_request(
    client: httpx.Client | httpx.AsyncClient,
    method: str,
    target: FetchTarget,
    headers: Mapping[str, str],
    content: bytes | None = None,
) -> httpx.Request:
    """A request to the checked address, never a fresh DNS answer (rebinding); Host and SNI kept."""
    pinned_headers = httpx.Headers(headers)
    pinned_headers["Host"] = target.url.netloc.decode("ascii")
    extensions = {"sni_hostname": target.url.host} if target.url.scheme == "https" else {}
    return client.build_request(
        method,
        target.url.copy_with(host=target.address),
        headers=pinned_headers,
        content=content,
        extensions=extensions,
    )


def redirect_target(target: FetchTarget, location: str) -> httpx.URL:
    """The absolute URL a redirect's Location points to, to be checked before it is fetched."""
    try:
        return target.url.join(location)
    except httpx.InvalidURL:
        raise IngestionError("The URL redirects to an invalid URL") from None


async def check_url(url: str | httpx.URL, settings: Settings) -> FetchTarget:
    """`resolve_fetch_target` in a worker thread, bounded by the fetch timeout."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(resolve_fetch_target, url, settings),
            timeout=settings.fetch_timeout_seconds,
        )
    except TimeoutError:
        raise IngestionError(
            f"Looking up the host of {url} timed out; it will be retried", transient=True
        ) from None


async def fetch_page(url: str, settings: Settings) -> FetchedPage:
    """GET an HTML page, re-checking every redirect hop, within the size and time limits."""
    try:
        async with asyncio.timeout(settings.fetch_total_timeout_seconds):
            return await _follow_redirects(url, settings)
    except (TimeoutError, httpx.TimeoutException):
        raise IngestionError(
            f"{url} did not answer in time; it will be retried", transient=True
        ) from None
    except httpx.DecodingError:
        raise IngestionError(f"{url} sent a body that could not be decoded") from None
    except httpx.TransportError:
        raise IngestionError(
            f"Could not connect to {url}; it will be retried", transient=True
        ) from None


async def _follow_redirects(url: str, settings: Settings) -> FetchedPage:
    current: str | httpx.URL = url
    for _hop in range(MAX_REDIRECTS + 1):
        target = await check_url(current, settings)
        page_or_location = await _fetch_once(target, settings)
        if isinstance(page_or_location, FetchedPage):
            return page_or_location
        current = redirect_target(target, page_or_location)
    raise IngestionError(f"{url} redirects more than {MAX_REDIRECTS} times; give the final URL")


async def _fetch_once(target: FetchTarget, settings: Settings) -> FetchedPage | str:
    """Fetch one hop from the pinned address; return the page or the redirect location."""
    timeout = httpx.Timeout(settings.fetch_timeout_seconds)
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    }
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        request = pinned_request(client, "GET", target, headers)
        response = await client.send(request, stream=True)
        try:
            return await _read_response(response, target.url, settings)
        finally:
            await response.aclose()


async def _read_response(
    response: httpx.Response, url: httpx.URL, settings: Settings
) -> FetchedPage | str:
    status = response.status_code
    if status in REDIRECT_STATUSES:
        location: str = response.headers.get("location", "")
        if not location:
            raise IngestionError(f"{url} answered with a redirect but no Location")
        return location
    if status >= 500 or status in _TRANSIENT_STATUSES:
        raise IngestionError(f"{url} answered HTTP {status}; it will be retried", transient=True)
    if status in (404, 410):
        raise IngestionError(f"{url} was not found (HTTP {status}); check the URL")
    if status >= 300 or status < 200:
        raise IngestionError(f"{url} answered HTTP {status}; check that the page is public")
    content_type = response.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in HTML_CONTENT_TYPES:
        raise IngestionError(
            f"{url} is {media_type or 'of unknown type'}, not a web page; "
            "upload the file itself as a material instead"
        )
    cap = settings.fetch_max_bytes
    too_large = IngestionError(f"{url} is larger than {cap:,} bytes; it was not fetched")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    body = bytearray()
    async for piece in response.aiter_bytes():
        body += piece
        if len(body) > cap:
            raise too_large
    return FetchedPage(
        url=str(url), content_type=media_type, charset=response.charset_encoding, body=bytes(body)
    )
