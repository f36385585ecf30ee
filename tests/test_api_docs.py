"""The API's docs work offline: Swagger UI's assets come from an installed package, and GET / leads there."""
from __future__ import annotations

import re
import threading
import time

import pytest

fastapi_testclient = pytest.importorskip("fastapi.testclient")

from fixtures import browser_marks, free_port  # noqa: E402
from postergenre.api import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return fastapi_testclient.TestClient(create_app(preload=False))


def test_root_redirects_to_docs(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/docs"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets(client, path):
    page = client.get(path).text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""", page)
    urls = [a or b for a, b in urls]
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    for url in urls:
        if url.startswith("/docs-assets/"):
            assert client.get(url).status_code == 200 and int(client.get(url).headers["content-length"]) > 1000


@browser_marks[0]
@browser_marks[1]
def test_docs_render_in_a_browser_without_the_internet(browser):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(preload=False), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        external: list[str] = []
        page = browser.new_page()
        page.route("**/*", lambda route: (external.append(route.request.url), route.abort())
                   if not route.request.url.startswith(f"http://127.0.0.1:{port}") else route.continue_())
        page.goto(f"http://127.0.0.1:{port}/")                       # the redirect, then Swagger UI
        page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
        assert "postergenre API" in page.locator(".swagger-ui .info .title").inner_text()
        assert page.locator(".opblock").count() >= 3                   # the endpoints are listed
        assert external == [] and page.url.endswith("/docs")
    finally:
        server.should_exit = True
        thread.join(10)
