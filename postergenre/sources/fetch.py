"""Safe fetching of poster images from user-supplied URLs (the app and the API fetch for strangers).

Every hop of a fetch, redirects included, is checked before anything is sent:
http/https only, no user:password in the URL, and the host name must resolve only to public
internet addresses (no private, loopback, link-local, multicast, reserved or unspecified ones,
IPv4-mapped / 6to4 / NAT64 forms included), unless ``allow_private=True``.
The connection then goes to the very address that was checked (the host name still drives the
Host header, TLS SNI and certificate checks), so a DNS answer that changes between check and
connect cannot redirect us inside the network. Redirects are followed by hand and re-checked.
The body is streamed under a byte cap and the whole fetch under one deadline.

Residual risks: a public address may itself proxy to private ones (e.g. an open proxy on the
internet); and when the caller passes its own ``session``, its adapters make the connection, so
the checked address is not pinned (DNS rebinding between check and connect is then possible).
"""
from __future__ import annotations

import http
import ipaddress
import socket
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from PIL import Image
from requests.adapters import HTTPAdapter
from requests.utils import requote_uri
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from postergenre.errors import FetchError
from postergenre.sources.images import load_image

__all__ = ["USER_AGENT", "fetch_url", "fetch_image", "check_url", "address_problem"]

USER_AGENT = "postergenre/0.1"
_HEADERS = {"User-Agent": USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity"}
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024
_getaddrinfo = socket.getaddrinfo  # module-level so tests can fake DNS without touching socket
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def fetch_url(url: str, *, max_bytes: int = 15 * 2**20, timeout: float = 10.0, allow_private: bool = False,
              max_redirects: int = 3, session: requests.Session | None = None) -> bytes:
    """Download an image's bytes from ``url`` safely.

    max_bytes: the largest body accepted (15 MiB); bigger bodies are refused, not truncated.
    timeout: the deadline in seconds for the whole fetch (DNS, connect, redirects and body).
    allow_private: also fetch from private/loopback addresses (tests, trusted intranets only).
    max_redirects: how many redirects to follow, each re-checked like the first URL.
    session: send through this session instead of a private pinned one (see the module docstring).

    Raises FetchError with a message that says what went wrong and what to do.
    """
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    current = url
    for _ in range(max_redirects + 1):
        seen.add(current)
        host, addresses = _checked_target(current, allow_private, deadline)
        response = _request(current, host, addresses, session, deadline)
        try:
            if response.status_code not in _REDIRECTS:
                _check_status(response, current)
                _check_content_type(response, current)
                return _read_body(response, current, max_bytes, deadline)
            location = response.headers.get("Location")
            if not location:
                raise FetchError(f"{_short(current)} redirects without saying where to; use the image's final address.")
            current = urljoin(current, requote_uri(location.strip()))  # as browsers escape spaces
            if current in seen:
                raise FetchError(f"{_short(url)} redirects in a loop; open it in a browser and copy the "
                                 "final image address instead.")
        finally:
            response.close()
    raise FetchError(f"{_short(url)} redirected more than {max_redirects} times; open it in a browser and "
                     "copy the final image address instead.")


def fetch_image(url: str, **kwargs: Any) -> Image.Image:
    """``fetch_url`` then ``postergenre.sources.images.load_image``: an RGB PIL image (ImageLoadError propagates)."""
    return load_image(fetch_url(url, **kwargs))


def check_url(url: str, *, allow_private: bool = False, timeout: float = 10.0) -> list[str]:
    """Validate a URL and resolve its host; the addresses it may be fetched from, or FetchError."""
    return [str(a) for a in _checked_target(url, allow_private, time.monotonic() + timeout)[1]]


def address_problem(address: str | IPAddress) -> str | None:
    """Why ``address`` must not be fetched from ("a loopback address"...), or None for public ones."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return address_problem(embedded)
    for flag, what in (("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
                       ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                       ("is_private", "a private network address"), ("is_reserved", "a reserved address")):
        if getattr(ip, flag):
            return what
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if not ip.is_global:
        return "an address that is not on the public internet"
    return None


# --- checking a URL ---------------------------------------------------------------------------------

def _checked_target(url: str, allow_private: bool, deadline: float) -> tuple[str, list[IPAddress]]:
    """(host name, its resolved addresses) for a URL that passes every check, or FetchError."""
    if not isinstance(url, str):
        raise FetchError(f"Expected the image URL as text, got a {type(url).__name__}; pass e.g. "
                         "'https://example.com/poster.jpg'.")
    text = url.strip()
    if not text:
        raise FetchError("The image URL is empty; paste an address like https://example.com/poster.jpg.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise FetchError(f"{_short(text)} contains spaces or control characters; copy the image address again.")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        hint = " (add https:// in front)" if not scheme or "." in scheme else ""
        raise FetchError(f"“{_short(text)}” is not a web link to an image{hint}. Only http:// and https:// image "
                         "addresses can be fetched, e.g. https://image.tmdb.org/t/p/w500/abc.jpg; for a file on "
                         "your computer, upload it instead.")
    if "@" in parts.netloc:
        raise FetchError(f"{_short(text, hide_userinfo=True)} contains a user name or password; remove it "
                         "(credentials in URLs are never sent) or download the image and upload it.")
    try:
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError as e:
        raise FetchError(f"{_short(text)} has an invalid port ({e}); check the address.") from e
    if not host:
        raise FetchError(f"{_short(text)} has no host name; use an address like https://example.com/poster.jpg.")
    addresses = _resolve(host, port, deadline)
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem:
                where = f"{host} is {problem}" if host == str(ip) else f"{host} resolves to {ip}, {problem}"
                raise FetchError(f"Refusing to fetch {_short(text)}: {where}, and only public internet addresses "
                                 "are fetched; download the image and upload the file instead.")
    return host, addresses


# getaddrinfo's answers meaning "this name does not exist" (a typo); any other failure is the network's
_NO_SUCH_NAME = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


def _resolve(host: str, port: int, deadline: float) -> list[IPAddress]:
    """All addresses of ``host`` (an IP literal as is), resolved in a helper thread under the deadline."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise FetchError(f"{host!r} is not a valid host name; check the address.") from e
    outcome: dict[str, Any] = {}

    def lookup() -> None:
        try:
            outcome["infos"] = _getaddrinfo(ascii_host, port, type=socket.SOCK_STREAM)
        except Exception as e:  # socket.gaierror, UnicodeError...
            outcome["error"] = e

    worker = threading.Thread(target=lookup, name="postergenre-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise FetchError(f"Looking up {host} took too long; check your connection or try again later.")
    error = outcome.get("error")
    if isinstance(error, socket.gaierror) and error.errno not in _NO_SUCH_NAME:
        # no answer at all (offline, no name server, a firewall): the address itself may be fine
        raise FetchError(f"Could not look up {host}: no network connection or name server answered. "
                         "Check your internet connection and try again.") from error
    if error is not None or not outcome.get("infos"):
        raise FetchError(f"The host {host} does not exist (the name server does not know it); "
                         "check the address for typos.") from error
    addresses: list[IPAddress] = []
    for info in outcome["infos"]:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])  # drop an IPv6 scope id
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside IPv4-mapped, 6to4 or NAT64 IPv6 addresses (Teredo counts as private)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# --- one request, pinned to the checked address ----------------------------------------------------

def _pinned_connection(base: type, ip: str) -> type:
    class PinnedConnection(base):
        """Opens its socket to ``ip``; Host header, SNI and certificate checks keep the URL's host."""

        def _new_conn(self):
            hostname, self._dns_host = self._dns_host, ip
            try:
                return super()._new_conn()
            finally:
                self._dns_host = hostname

    return PinnedConnection


class _PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections all go to one pre-checked IP address."""

    def __init__(self, ip: IPAddress):
        self._ip = str(ip)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_pool = type("PinnedHTTPPool", (HTTPConnectionPool,),
                         {"ConnectionCls": _pinned_connection(HTTPConnection, self._ip)})
        https_pool = type("PinnedHTTPSPool", (HTTPSConnectionPool,),
                          {"ConnectionCls": _pinned_connection(HTTPSConnection, self._ip)})
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}


def _request(url: str, host: str, addresses: list[IPAddress], session: requests.Session | None,
             deadline: float) -> requests.Response:
    """GET ``url`` without following redirects: through ``session``, else pinned to each address in turn."""
    if session is not None:
        return _send(session, url, host, deadline)
    last_error: FetchError | None = None
    for ip in addresses[:3]:
        pinned = requests.Session()
        pinned.trust_env = False  # no proxies or .netrc credentials from the environment
        pinned.mount("http://", _PinnedAdapter(ip))
        pinned.mount("https://", _PinnedAdapter(ip))
        try:
            return _send(pinned, url, host, deadline)
        except _ConnectFailed as e:
            last_error = e
        finally:
            pinned.close()  # closes idle pooled sockets; a streamed response keeps its own until closed
    raise last_error or FetchError(f"Could not connect to {host}; try again later.")


class _ConnectFailed(FetchError):
    """No connection to one address (the next address may still work)."""


def _send(session: requests.Session, url: str, host: str, deadline: float) -> requests.Response:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"Fetching {_short(url)} took too long; try again later or upload the image file.")
    try:
        return session.get(url, headers=_HEADERS, stream=True, allow_redirects=False, timeout=remaining)
    except requests.exceptions.SSLError as e:
        raise FetchError(f"The secure connection to {host} failed (certificate or TLS problem); "
                         "check the address or download the image and upload it.") from e
    except requests.exceptions.ConnectTimeout as e:
        raise _ConnectFailed(f"Connecting to {host} timed out; try again later or upload the image file.") from e
    except requests.exceptions.Timeout as e:
        raise FetchError(f"{host} did not answer in time; try again later or upload the image file.") from e
    except requests.exceptions.ConnectionError as e:
        raise _ConnectFailed(f"Could not connect to {host}; check the address or try again later.") from e
    except requests.exceptions.RequestException as e:
        raise FetchError(f"Could not fetch {_short(url)} ({type(e).__name__}); check the address.") from e


# --- checking and reading the answer ---------------------------------------------------------------

def _check_status(response: requests.Response, url: str) -> None:
    code = response.status_code
    if 200 <= code < 300 and code not in (204, 205):
        return
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = response.reason or "unknown status"
    answered = f"the server answered {code} {phrase} for {_short(url)}"
    if code in (401, 403):
        advice = "the image may need a login or block direct downloads; save it and upload the file instead"
    elif code in (404, 410):
        advice = "check the address, or copy the image address again"
    elif code == 429:
        advice = "it is limiting requests; wait a minute and try again"
    elif code >= 500:
        advice = "the site has a problem; try again later or upload the image file"
    else:
        advice = "open the address in a browser, or download the image and upload the file"
    raise FetchError(f"Could not fetch the image: {answered}; {advice}.")


def _check_content_type(response: requests.Response, url: str) -> None:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not content_type or content_type.startswith("image/") or content_type in (
            "application/octet-stream", "binary/octet-stream"):
        return
    if content_type in ("text/html", "application/xhtml+xml"):
        raise FetchError(f"The URL returned a web page ({content_type}), not an image — copy the image address "
                         "instead (right-click the poster, 'Copy image address').")
    raise FetchError(f"The URL returned {content_type}, not an image; use the address of the image itself.")


def _read_body(response: requests.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    """The body, streamed: refused over ``max_bytes`` (declared or actual) or past the deadline."""
    too_big = (f"The image at {_short(url)} is larger than the {max_bytes / 2**20:.1f} MiB limit; "
               "download a smaller version and upload it.")
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(too_big)
    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read  # read1 returns what has arrived, so the deadline is checked often
    chunks, total = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"Downloading {_short(url)} took too long; try again later or upload the image file.")
        _limit_socket_wait(raw, remaining)
        try:
            chunk = read(_CHUNK, decode_content=True)
        except Exception as e:  # socket timeouts, urllib3 ProtocolError / ReadTimeoutError, decoding errors
            raise FetchError(f"The download of {_short(url)} broke off or stalled; try again later.") from e
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise FetchError(too_big)
        chunks.append(chunk)
    if not total:
        raise FetchError(f"{_short(url)} returned no data; check the address.")
    return b"".join(chunks)


def _limit_socket_wait(raw: Any, seconds: float) -> None:
    """Make the next socket read wait at most ``seconds`` (best effort: the socket is found through
    urllib3's connection, or through http.client's reader once a closing connection handed it over)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:  # urllib3 HTTPResponse -> http.client.HTTPResponse -> BufferedReader -> SocketIO
        reader = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    if sock is not None and hasattr(sock, "settimeout"):
        try:
            sock.settimeout(max(0.01, seconds))
        except OSError:
            pass


def _short(url: str, limit: int = 100, hide_userinfo: bool = False) -> str:
    """The URL for messages: credentials hidden, long ones cut."""
    if hide_userinfo:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            url = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
    return url if len(url) <= limit else url[: limit - 1] + "…"
