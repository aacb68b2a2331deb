"""Schemathesis over the public pages' part of the OpenAPI document: no generated request, valid
or not, may get a 5xx."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

PUBLIC = ("/request", "/verify/{token}", "/status", "/download/{token}", "/demo/mail")
MAX_EXAMPLES = 10
BUDGET_SECONDS = 30
VALID = [
    {"type": "access", "email": "fuzz@example.no"},
    {"type": "newsletter_unsubscribe", "email": "Fuzz.Two@example.no", "language": "en"},
    {"type": "rectification", "national_id": "15076500565", "corrections": "address = Storgata 1"},
    {"type": "objection", "phone": "+47 412 34 567", "objection_grounds": "Not needed."},
]


def _valid(drawn: tuple[Any, dict[str, str]]) -> Any:
    case, fields = drawn
    if isinstance(case.body, dict):
        case.body.update(fields)
        case.body["website"] = ""
    return case


def _fuzz(base_url: str, schema_doc: dict[str, Any]) -> tuple[list[str], Counter[str]]:
    schema = schemathesis.openapi.from_dict(schema_doc)
    errors: list[str] = []
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + BUDGET_SECONDS

    def run(label: str, strategy: Any) -> None:
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def examples(case: Any) -> None:
            if time.monotonic() > deadline:
                return
            response = case.call(base_url=base_url, timeout=15)
            seen[f"{label} {response.status_code}"] += 1
            if response.status_code >= 500:
                errors.append(f"{response.status_code}: {case.as_curl_command()}")

        examples()

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path not in PUBLIC:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if operation.label == "POST /request" and mode is GenerationMode.POSITIVE:
                strategy = st.one_of(strategy, st.tuples(strategy, st.sampled_from(VALID)).map(_valid))

            try:
                run(operation.label, strategy)
            except Unsatisfiable:
                seen[f"{operation.label} nothing to generate in {mode}"] += 1
    return errors, seen


@pytest.fixture
def generous_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # The per-address limit would answer nearly everything with 429; fuzz what lies behind it.
    monkeypatch.setenv("DSR_PUBLIC_RATE_PER_ADDRESS", "100000")
    monkeypatch.setenv("DSR_PUBLIC_RATE_PER_IDENTIFIER", "100000")


async def test_no_generated_public_request_gets_a_server_error(
    generous_limits: None, web: httpx.AsyncClient
) -> None:
    schema_doc = (await web.get("/openapi.json")).json()
    started = time.monotonic()
    errors, seen = await asyncio.to_thread(_fuzz, str(web.base_url), schema_doc)
    print(f"schemathesis (public): {sum(seen.values())} calls in {time.monotonic() - started:.1f} s")
    for line, count in sorted(seen.items()):
        print(f"  {count:4d}  {line}")
    assert not errors, "\n".join(errors[:20])
    assert seen["POST /request 200"] >= 2, "generated submissions never reached the ledger"
    assert {line.rsplit(" ", 1)[0] for line in seen} >= {
        "GET /request",
        "POST /request",
        "GET /verify/{token}",
        "POST /verify/{token}",
        "GET /status",
        "POST /status",
        "GET /download/{token}",
    }
    assert (await web.get("/healthz")).status_code == 200
