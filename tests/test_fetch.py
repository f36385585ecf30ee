"""Safe URL fetching, against a tiny HTTP server on 127.0.0.1 (bounded: the slowest answer drips for
at most 3 s). Address checks are tested with a fake resolver, so no test touches real DNS or the
internet, and refused URLs are checked to never reach the server."""
from __future__ import annotations

import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from postergenre.errors import FetchError, ImageLoadError
from postergenre.sources import fetch
from postergenre.sources.fetch import address_problem, check_url, fetch_image, fetch_url

pytestmark = pytest.mark.timeout(30)


def _png(width: int = 40, height: int = 60, colour=(200, 30, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()
BIG = 2 * 2**20  # bytes served by /big*, against max_bytes=1 MiB


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: bytes = b"", ctype: str = "image/png", headers: dict | None = None,
              length: bool = True) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str, code: int = 302) -> None:
        self._send(code, b"", "text/plain", {"Location": location})

    def do_GET(self) -> None:  # noqa: C901 - a routing table, read top to bottom
        self.server.seen.append((self.path, dict(self.headers)))
        path = self.path
        try:
            if path == "/poster.png":
                self._send(200, PNG)
            elif path == "/poster.bin":
                self._send(200, PNG, "application/octet-stream")
            elif path == "/page.html":
                self._send(200, b"<!doctype html><html><body><img src=poster.png></body></html>", "text/html; charset=utf-8")
            elif path == "/data.json":
                self._send(200, b'{"poster": "poster.png"}', "application/json")
            elif path == "/garbage.png":
                self._send(200, b"this is not really a png at all, sorry" * 3)
            elif path == "/empty.png":
                self._send(200, b"")
            elif path == "/big":  # honest Content-Length over the cap
                self._send(200, b"\0" * BIG)
            elif path == "/huge-declared":  # claims 10 GiB, sends a small image: refused from the header
                self._send(200, PNG, headers={"Content-Length": str(10 * 2**30)}, length=False)
                self.close_connection = True
            elif path == "/big-undeclared":  # no Content-Length: the cap must cut the stream
                self._send(200, b"", length=False)
                for _ in range(BIG // 65536):
                    self.wfile.write(b"\0" * 65536)
            elif path == "/slow":  # drips one byte every 0.1 s for 3 s
                self._send(200, b"", length=False)
                for _ in range(30):
                    if self.server.stopping.wait(0.1):
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
            elif path == "/byte-then-stall":  # one byte after 1 s, then silence
                self._send(200, b"", length=False)
                if not self.server.stopping.wait(1.0):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    self.server.stopping.wait(3)
            elif path == "/stall":  # headers, then silence for 3 s
                self._send(200, b"", length=False)
                self.wfile.flush()
                self.server.stopping.wait(3)
            elif path == "/redirect":
                self._redirect("/poster.png")
            elif path == "/redirect-relative":
                self._redirect("poster.png", 301)
            elif path == "/loop":
                self._redirect("/loop")
            elif path.startswith("/chain/"):
                n = int(path.rsplit("/", 1)[1])
                self._redirect(f"/chain/{n - 1}" if n > 0 else "/poster.png", 307)
            elif path == "/redirect-private":
                self._redirect("http://10.1.2.3/poster.png")
            elif path == "/redirect-ipv6-loopback":
                self._redirect(f"http://[::1]:{self.server.server_port}/poster.png")
            elif path == "/redirect-file":
                self._redirect("file:///etc/passwd")
            elif path == "/redirect-nowhere":
                self._send(302, b"", "text/plain")
            elif path == "/forbidden":
                self._send(403, b"no", "text/plain")
            elif path == "/error":
                self._send(500, b"oops", "text/plain")
            else:
                self._send(404, b"not here", "text/plain")
        except (ConnectionError, OSError):  # the client hung up on purpose (cap, deadline)
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list
    stopping: threading.Event

    def handle_error(self, request, client_address) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.seen, srv.stopping = [], threading.Event()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.stopping.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def base(server) -> str:
    server.seen.clear()
    return f"http://127.0.0.1:{server.server_port}"


def fake_dns(monkeypatch, table: dict[str, str]) -> list[str]:
    """Resolve names from ``table`` only (anything else: not found); returns the list of looked-up names."""
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        ip = table[host]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(fetch, "_getaddrinfo", getaddrinfo)
    return asked


class NoSession:
    """A session that fails the test if anything is sent through it."""

    def get(self, *args, **kwargs):
        raise AssertionError("a refused URL must not be requested")


# --- refused before any connection ---------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.5", "169.254.169.254", "[::1]", "0.0.0.0",
                                  "2130706433", "127.1", "[::ffff:127.0.0.1]", "192.168.1.1", "[fe80::1]"])
def test_private_addresses_refused_without_connecting(host, server, base):
    with pytest.raises(FetchError) as err:
        fetch_url(f"http://{host}:{server.server_port}/poster.png", session=NoSession(), timeout=3)
    assert "only public internet addresses" in str(err.value)
    assert "upload the file" in str(err.value)
    assert server.seen == []


def test_name_resolving_to_metadata_address_refused(monkeypatch, base, server):
    fake_dns(monkeypatch, {"metadata.test": "169.254.169.254"})
    with pytest.raises(FetchError, match="metadata.test resolves to 169.254.169.254, a link-local address"):
        fetch_url("http://metadata.test/latest/meta-data", session=NoSession())


def test_name_with_any_private_address_refused(monkeypatch):
    monkeypatch.setattr(fetch, "_getaddrinfo", lambda host, port, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))])
    with pytest.raises(FetchError, match="private network"):
        check_url("https://mixed.test/poster.jpg")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/poster.png", "data:image/png;base64,AAAA",
                                 "javascript:alert(1)", "gopher://example.com/", "www.example.com/poster.jpg"])
def test_non_http_schemes_refused(url):
    with pytest.raises(FetchError, match="Only http:// and https://") as err:
        fetch_url(url, session=NoSession())
    assert "upload" in str(err.value)


def test_missing_scheme_gets_a_hint():
    with pytest.raises(FetchError, match="add https://"):
        fetch_url("example.com/poster.jpg", session=NoSession())


@pytest.mark.parametrize("url", ["http://user:secret@example.com/poster.png", "https://token@example.com/p.jpg",
                                 "http://example.com@127.0.0.1/poster.png"])
def test_credentials_in_url_refused_and_not_echoed(url):
    with pytest.raises(FetchError, match="user name or password") as err:
        fetch_url(url, session=NoSession())
    assert "secret" not in str(err.value) and "token" not in str(err.value)


@pytest.mark.parametrize("url, message", [("", "empty"), ("http://exa mple.com/p.png", "spaces"),
                                          ("http://example.com:99999/p.png", "invalid port"),
                                          ("http:///poster.png", "no host name"), (42, "as text")])
def test_malformed_urls(url, message):
    with pytest.raises(FetchError, match=message):
        fetch_url(url, session=NoSession())


def test_unknown_host(monkeypatch):
    fake_dns(monkeypatch, {})
    with pytest.raises(FetchError, match="does not exist .*check the address for typos"):
        fetch_url("https://no-such-host.test/poster.png", session=NoSession())


def test_offline_dns_is_not_called_a_typo(monkeypatch):
    def no_network(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(fetch, "_getaddrinfo", no_network)
    with pytest.raises(FetchError, match="internet connection") as err:
        fetch_url("https://image.tmdb.org/t/p/w500/x.jpg", session=NoSession())
    assert "typo" not in str(err.value)


def test_not_a_url_quotes_the_input_and_shows_a_link_format():
    with pytest.raises(FetchError, match="“poster_of_alien”") as err:
        fetch_url("poster_of_alien", session=NoSession())
    assert "https://" in str(err.value)


def test_slow_dns_hits_the_deadline(monkeypatch):
    monkeypatch.setattr(fetch, "_getaddrinfo", lambda *a, **k: time.sleep(1.5) or [])
    start = time.monotonic()
    with pytest.raises(FetchError, match="took too long"):
        fetch_url("https://slow-dns.test/poster.png", timeout=0.3, session=NoSession())
    assert time.monotonic() - start < 1.0


def test_address_problem_classifies():
    assert address_problem("8.8.8.8") is None and address_problem("2606:4700::1111") is None
    assert address_problem("127.0.0.1") == "a loopback address"
    assert address_problem("::ffff:10.0.0.1") == "a private network address"  # IPv4-mapped
    assert address_problem("64:ff9b::a9fe:a9fe") == "a link-local address"    # NAT64 of 169.254.169.254
    assert address_problem("2002:0a00:0001::") == "a private network address"  # 6to4 of 10.0.0.1
    assert address_problem("224.0.0.251") == "a multicast address"
    assert address_problem("100.64.0.1") == "an address that is not on the public internet"
    assert address_problem("::") == "an unspecified address"


# --- end to end against the local server (allow_private=True) ------------------------------------

def test_fetch_png(base, server):
    assert fetch_url(f"{base}/poster.png", allow_private=True) == PNG
    path, headers = server.seen[-1]
    assert headers["User-Agent"] == "postergenre/0.1"


def test_fetch_octet_stream(base):
    assert fetch_url(f"{base}/poster.bin", allow_private=True) == PNG


def test_fetch_image_decodes(base):
    image = fetch_image(f"{base}/poster.png", allow_private=True)
    assert image.mode == "RGB" and image.size == (40, 60) and image.getpixel((5, 5)) == (200, 30, 40)


def test_fetch_image_propagates_image_errors(base):
    with pytest.raises(ImageLoadError, match="text"):
        fetch_image(f"{base}/garbage.png", allow_private=True)


def test_web_page_refused_with_advice(base):
    with pytest.raises(FetchError, match=r"web page \(text/html\), not an image — copy the image address"):
        fetch_url(f"{base}/page.html", allow_private=True)


def test_other_content_type_refused(base):
    with pytest.raises(FetchError, match="application/json, not an image"):
        fetch_url(f"{base}/data.json", allow_private=True)


@pytest.mark.parametrize("path, message", [("/missing", "404 Not Found"), ("/forbidden", "403 Forbidden"),
                                           ("/error", "500 Internal Server Error")])
def test_http_errors_are_named(base, path, message):
    with pytest.raises(FetchError, match=message) as err:
        fetch_url(f"{base}{path}", allow_private=True)
    message = str(err.value)
    assert "the server answered" in message
    assert any(advice in message for advice in ("try again", "check the address", "upload the file"))


def test_empty_body(base):
    with pytest.raises(FetchError, match="returned no data"):
        fetch_url(f"{base}/empty.png", allow_private=True)


def test_declared_size_over_cap_refused(base):
    with pytest.raises(FetchError, match="larger than the 1.0 MiB limit"):
        fetch_url(f"{base}/big", allow_private=True, max_bytes=2**20)
    with pytest.raises(FetchError, match="larger than the 15.0 MiB limit; download a smaller version"):
        fetch_url(f"{base}/huge-declared", allow_private=True)


def test_undeclared_size_over_cap_cut_while_streaming(base):
    with pytest.raises(FetchError, match="larger than the 1.0 MiB limit"):
        fetch_url(f"{base}/big-undeclared", allow_private=True, max_bytes=2**20)
    assert len(fetch_url(f"{base}/big-undeclared", allow_private=True, max_bytes=BIG)) == BIG


@pytest.mark.parametrize("path", ["/slow", "/stall"])
def test_overall_deadline(base, path):
    start = time.monotonic()
    with pytest.raises(FetchError, match="took too long|stalled"):
        fetch_url(f"{base}{path}", allow_private=True, timeout=0.8)
    assert time.monotonic() - start < 2.0  # the server would keep going for 3 s


def test_deadline_holds_after_partial_data(base):
    """Each socket wait is cut to the time left, not the full timeout (which would end near 2.5 s)."""
    start = time.monotonic()
    with pytest.raises(FetchError, match="took too long|stalled"):
        fetch_url(f"{base}/byte-then-stall", allow_private=True, timeout=1.5)
    assert time.monotonic() - start < 2.2


def test_redirects_followed(base, server):
    assert fetch_url(f"{base}/redirect", allow_private=True) == PNG
    assert fetch_url(f"{base}/redirect-relative", allow_private=True) == PNG
    assert fetch_url(f"{base}/chain/2", allow_private=True, max_redirects=3) == PNG


def test_too_many_redirects_and_loops(base):
    with pytest.raises(FetchError, match="more than 3 times"):
        fetch_url(f"{base}/chain/5", allow_private=True, max_redirects=3)
    with pytest.raises(FetchError, match="in a loop"):
        fetch_url(f"{base}/loop", allow_private=True)
    with pytest.raises(FetchError, match="without saying where"):
        fetch_url(f"{base}/redirect-nowhere", allow_private=True)


def test_redirect_to_other_scheme_refused(base):
    with pytest.raises(FetchError, match="Only http:// and https://"):
        fetch_url(f"{base}/redirect-file", allow_private=True)


# --- every hop is re-checked in default mode -----------------------------------------------------

@pytest.fixture
def local_server_counts_as_public(monkeypatch):
    """Treat 127.0.0.1 (the test server) as public, every other address as usual."""
    real = fetch.address_problem
    monkeypatch.setattr(fetch, "address_problem", lambda ip: None if str(ip) == "127.0.0.1" else real(ip))


@pytest.mark.parametrize("path, problem", [("/redirect-private", "10.1.2.3 is a private network address"),
                                           ("/redirect-ipv6-loopback", "::1 is a loopback address")])
def test_redirect_to_private_address_refused(base, server, local_server_counts_as_public, path, problem):
    with pytest.raises(FetchError, match=problem):
        fetch_url(f"{base}{path}")
    assert [p for p, _ in server.seen] == [path]  # only the first hop reached any server


def test_redirect_between_public_hops_in_default_mode(base, local_server_counts_as_public):
    assert fetch_url(f"{base}/redirect") == PNG


def test_connection_pinned_to_checked_address(monkeypatch, server):
    """'poster.test' exists only in the fake resolver, so success means we connected to the address we
    checked (not a second lookup), while the Host header kept the name."""
    asked = fake_dns(monkeypatch, {"poster.test": "127.0.0.1"})
    assert fetch_url(f"http://poster.test:{server.server_port}/redirect", allow_private=True) == PNG
    assert asked == ["poster.test", "poster.test"]  # once per hop
    assert server.seen[-1][1]["Host"] == f"poster.test:{server.server_port}"
