"""The API's documentation pages without the internet (issue 21): /docs, /redoc and /asyncapi are
served with every asset from this process, no inline script, and their own Content-Security-Policy.
In-process (no ledger, no broker: these pages need neither); the browser test is tests/browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib import resources

import httpx
import pytest
import yaml

from schemas.registry import TOPICS
from services.api.app import SPEC
from services.apidocs import routes as apidocs
from services.locator.service import SPEC as LOCATOR
from services.runtime.host import ServiceSpec, create_service_app
from services.runtime.settings import Settings


def _client(spec: ServiceSpec) -> httpx.AsyncClient:
    app = create_service_app(spec, Settings())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    async with _client(SPEC) as client:
        yield client


def _csp(response: httpx.Response) -> dict[str, str]:
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in response.headers["content-security-policy"].split(";")
        if part.strip()
    }


def _external(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)="((?:https?:)?//[^"]*)""", html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_load_nothing_from_elsewhere_and_run_no_inline_script(
    api: httpx.AsyncClient, path: str
) -> None:
    page = await api.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert _external(page.text) == []
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page.text, flags=re.S)
    assert scripts and all(body.strip() == "" for body in scripts)  # every script is a file
    csp = _csp(page)
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    # Swagger UI keeps the console's styles rule; ReDoc needs inline styles (see services/apidocs).
    assert csp["style-src"] == ("'self'" if path == "/docs" else "'self' 'unsafe-inline'")
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text):
        fetched = await api.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.headers["x-content-type-options"] == "nosniff"
        again = await api.get(asset, headers={"if-none-match": fetched.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


async def test_the_assets_are_the_packaged_bundles_and_nothing_else(api: httpx.AsyncClient) -> None:
    bundle = await api.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    shipped = resources.files("fastapi_offline").joinpath("static", "swagger-ui-bundle.js").read_bytes()
    assert bundle.content == shipped
    assert (await api.get("/docs/assets/swagger-ui.css")).headers["content-type"].startswith("text/css")
    for name in ("core.py", "..%2Fcore.py", "../routes.py", "nope.js"):
        assert (await api.get(f"/docs/assets/{name}")).status_code == 404, name
    init = (await api.get("/docs/assets/swagger-init.js")).text
    assert "validatorUrl: null" in init  # the document is never sent to the public validator


async def test_fastapis_cdn_pages_are_gone_on_every_service() -> None:
    for spec in (SPEC, LOCATOR):
        async with _client(spec) as client:
            page = await client.get("/docs")
            assert page.status_code == 200 and "cdn.jsdelivr.net" not in page.text
            assert "/docs/assets/swagger-ui-bundle.js" in page.text
            assert (await client.get("/docs/oauth2-redirect")).status_code == 404
            openapi = (await client.get("/openapi.json")).json()
            assert not any(p.startswith(("/docs", "/redoc", "/asyncapi")) for p in openapi["paths"])


async def test_the_asyncapi_page_lists_every_topic_and_event_without_script(api: httpx.AsyncClient) -> None:
    page = await api.get("/asyncapi")
    assert page.status_code == 200
    assert "<script" not in page.text and _external(page.text) == []
    csp = _csp(page)
    assert "script-src" not in csp and csp["default-src"] == "'none'" and csp["style-src"] == "'self'"
    document = yaml.safe_load(apidocs.asyncapi_text())
    for topic in TOPICS:
        assert f"<code>{topic}</code>" in page.text, topic
    for message in document["components"]["messages"]:
        assert f'id="message-{message}"' in page.text, message
    for schema in document["components"]["schemas"]:
        assert f'id="schema-{schema}"' in page.text, schema


async def test_the_raw_asyncapi_document_is_the_generated_file(api: httpx.AsyncClient) -> None:
    raw = await api.get("/asyncapi.yaml")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/yaml")
    generated = resources.files("schemas").joinpath("generated", "asyncapi.yaml").read_text("utf-8")
    assert raw.text == generated


def test_descriptions_are_escaped_before_backticks_become_code() -> None:
    html = apidocs.prose("a `b<i>` <script>x</script>\n\nsecond")
    assert str(html) == "<p>a <code>b&lt;i&gt;</code> &lt;script&gt;x&lt;/script&gt;</p><p>second</p>"
    assert str(apidocs.type_of({"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]})) == (
        '<a href="#schema-X"><code>X</code></a> | null'
    )
