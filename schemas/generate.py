"""Generate the published event contract from the registries: JSON Schemas and an AsyncAPI document.

`python -m schemas.generate` writes `schemas/generated/`; `python -m schemas.generate --check`
exits 1, listing what is stale, missing or unexpected, when the files on disk differ from what the
registries produce. Everything here is pure but `package_version` (reads pyproject.toml), `check`,
`write` and `main`.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import json
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from schemas.envelope import Envelope
from schemas.extract import Extract
from schemas.registry import (
    DAY_MS,
    DEAD_LETTER,
    EVENTS,
    FULFILLED,
    INTAKE,
    INTAKE_OUTCOMES,
    LOCATED,
    NOTICES,
    REFERRALS,
    REQUESTS,
    SLA,
    TOPICS,
    EventSpec,
    TopicSpec,
)
from schemas.requests import RequestSubmission

Json = dict[str, Any]

GENERATED_DIR = Path(__file__).resolve().parent / "generated"
ASYNCAPI_FILE = "asyncapi.yaml"
SUBMISSION_FILE = "request-submission.json"
EXTRACT_FILE = "extract.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
COMPONENT_SCHEMAS = "#/components/schemas/"
TITLE = "DSR pipeline event contract"
PACKAGE = "dsr-pipeline"

#: Who writes and who reads each topic: (producer, consumer). The registries do not say, the contract must.
PARTIES: dict[str, tuple[str, str]] = {
    INTAKE: ("integrators: the Plan & Pay portal and integrated systems", "the intake service"),
    INTAKE_OUTCOMES: ("the intake service", "integrators that submitted on dsr.intake.v1"),
    REQUESTS: ("the intake service", "the locator service and the notifier"),
    LOCATED: ("the locator service", "the fulfilment service"),
    FULFILLED: ("the fulfilment service", "SLA tracking and the notifier"),
    REFERRALS: ("the fulfilment service", "the client notifier (tells each controller client)"),
    SLA: ("the tracker service", "operations alerting and the notifier"),
    NOTICES: ("the fulfilment service", "the notifier (recipients and subjects)"),
    DEAD_LETTER: ("any consumer that cannot use a message", "operators (inspection and re-drive)"),
}


# --- JSON Schema -------------------------------------------------------------------------------


WIRE_REQUIRED = ("event_id", "event_type", "schema_version", "occurred_at", "producer", "payload")


def event_schema_id(spec: EventSpec) -> str:
    return f"urn:{PACKAGE}:event:{spec.event_type}:v{spec.major}"


def envelope_schema(spec: EventSpec) -> Json:
    """Pydantic's schema of `Envelope[payload]`, with `event_type` pinned to this event type."""
    schema = _tidy(Envelope[spec.payload].model_json_schema())  # type: ignore[name-defined]
    # On the wire these are required even though our own constructors fill them in: a
    # consumer deduplicates on event_id and must never have to invent one.
    schema["required"] = list(WIRE_REQUIRED)
    schema["properties"]["event_type"] = {
        "const": spec.event_type,
        "description": "The event type; selects the payload schema.",
        "title": "Event Type",
        "type": "string",
    }
    return schema


def event_schema(spec: EventSpec) -> Json:
    """The standalone JSON Schema document of one event type (`<event_type>.json`)."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": event_schema_id(spec),
        "title": spec.event_type,
        "description": _event_description(spec),
        **envelope_schema(spec),
    }


def submission_schema() -> Json:
    """The JSON Schema of the `POST /v1/requests` body (`request-submission.json`)."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:{PACKAGE}:http:request-submission",
        "title": "RequestSubmission",
        **_tidy(RequestSubmission.model_json_schema()),
    }


def extract_schema() -> Json:
    """The JSON Schema of the access extract given to subjects (`extract.json`)."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:{PACKAGE}:document:extract",
        "title": "Extract",
        **_tidy(Extract.model_json_schema(mode="serialization")),
    }


def _tidy(schema: Json) -> Json:
    """`schema` without its generated title, with its `$defs` sorted and moved to the end."""
    body = {key: value for key, value in schema.items() if key not in {"title", "$defs"}}
    if "$defs" in schema:
        body["$defs"] = dict(sorted(schema["$defs"].items()))
    return body


def _event_description(spec: EventSpec) -> str:
    summary = spec.summary or spec.event_type
    return f"{summary} Topic `{spec.topic}`, schema version {spec.version}."


# --- AsyncAPI ----------------------------------------------------------------------------------


def rewrite_refs(node: Any, old: str, new: str) -> Any:
    """A deep copy of `node` with every `$ref` starting with `old` re-rooted at `new`."""
    if isinstance(node, dict):
        return {
            key: (new + value[len(old) :])
            if key == "$ref" and isinstance(value, str) and value.startswith(old)
            else rewrite_refs(value, old, new)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [rewrite_refs(item, old, new) for item in node]
    return node


def split_defs(schema: Json) -> tuple[Json, Json]:
    """(`schema` without `$defs`, its `$defs`), refs re-rooted at `#/components/schemas/`."""
    body = rewrite_refs({k: v for k, v in schema.items() if k != "$defs"}, "#/$defs/", COMPONENT_SCHEMAS)
    defs = rewrite_refs(schema.get("$defs", {}), "#/$defs/", COMPONENT_SCHEMAS)
    return body, defs


def merge_defs(into: Json, defs: Json) -> None:
    """Add `defs` to `into`; the same name must always mean the same schema."""
    for name, schema in defs.items():
        if into.setdefault(name, schema) != schema:
            raise ValueError(f"two different models are both called {name!r} in the JSON Schema")


def _ident(topic: str) -> str:
    """`dsr.intake-outcomes.v1` -> `dsrIntakeOutcomesV1` (a channel or operation id)."""
    first, *rest = [part for part in re.split(r"[^A-Za-z0-9]+", topic) if part]
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _parties(topic: TopicSpec) -> tuple[str, str]:
    try:
        return PARTIES[topic.name]
    except KeyError:
        raise KeyError(f"topic {topic.name!r} has no entry in PARTIES (schemas/generate.py)") from None


def message(spec: EventSpec, components: Json) -> Json:
    """The AsyncAPI message of one event type; its shared schemas are added to `components`."""
    payload, defs = split_defs(envelope_schema(spec))
    merge_defs(components, defs)
    topic = TOPICS[spec.topic]
    return {
        "name": spec.event_type,
        "title": spec.event_type,
        "summary": spec.summary or spec.event_type,
        "description": _event_description(spec),
        "contentType": "application/json",
        "correlationId": {
            "description": "Ties together every event caused by one original submission.",
            "location": "$message.payload#/correlation_id",
        },
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"Message key: {topic.key}."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _duration(ms: int) -> str:
    days, rest = divmod(ms, DAY_MS)
    return f"{days} days ({ms} ms)" if days and not rest else f"{ms} ms"


def channel(topic: TopicSpec) -> Json:
    producer, consumer = _parties(topic)
    return {
        "address": topic.name,
        "title": topic.name,
        "summary": topic.summary,
        "description": (
            f"{topic.summary}\n\nKey: {topic.key}. Partitions: {topic.partitions}. "
            f"Cleanup policy: {topic.cleanup_policy}. Retention: {_duration(topic.retention_ms)}. "
            f"Produced by {producer}; consumed by {consumer}. "
            "`DSR_TOPIC_PREFIX` is prepended to the address at run time."
        ),
        "messages": {et: {"$ref": f"#/components/messages/{et}"} for et in topic.event_types},
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "topicConfiguration": {
                    "cleanup.policy": [topic.cleanup_policy],
                    "retention.ms": topic.retention_ms,
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def operations(topic: TopicSpec) -> Json:
    """The `send` and the `receive` operation of one topic, keyed by operation id."""
    ident = _ident(topic.name)
    producer, consumer = _parties(topic)
    messages = [{"$ref": f"#/channels/{ident}/messages/{et}"} for et in topic.event_types]

    def operation(action: str, who: str) -> Json:
        verb = "Publishes to" if action == "send" else "Consumes"
        return {
            "action": action,
            "channel": {"$ref": f"#/channels/{ident}"},
            "title": f"{action} {topic.name}",
            "summary": f"{verb} {topic.name}: {who}.",
            "messages": copy.deepcopy(messages),
        }

    return {
        f"send{ident[:1].upper()}{ident[1:]}": operation("send", producer),
        f"receive{ident[:1].upper()}{ident[1:]}": operation("receive", consumer),
    }


def asyncapi_document(version: str | None = None) -> Json:
    """The AsyncAPI 3.0.0 document of every topic (channel) and every event type (message)."""
    schemas: Json = {}
    messages = {et: message(spec, schemas) for et, spec in sorted(EVENTS.items())}
    topics = list(TOPICS.values())  # registry order: the order events flow through the pipeline
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": version or package_version(),
            "description": (
                "Every Kafka topic of the GDPR data subject request pipeline and every event on it. "
                "Each message is a JSON envelope whose `payload` depends on `event_type`. "
                "Generated by `python -m schemas.generate` from `schemas/registry.py`; do not edit."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded broker started by `dsr up`.",
            }
        },
        "channels": {_ident(t.name): channel(t) for t in topics},
        "operations": {op_id: op for t in topics for op_id, op in operations(t).items()},
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


def package_version() -> str:
    """The project version: from `pyproject.toml` in a checkout, else the installed metadata."""
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    return importlib.metadata.version(PACKAGE)


# --- rendering and files -----------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Never emits `&anchor`/`*alias` (repeated sub-documents are written out in full)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line strings as `|` blocks, the rest as plain or quoted scalars."""
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render_json(document: Json) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_yaml(document: Json) -> str:
    header = "# Generated by `python -m schemas.generate` from schemas/registry.py; do not edit.\n"
    body = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
    )
    return header + body


def generated_files(version: str | None = None) -> dict[str, str]:
    """Every generated file, by name, with its exact content."""
    files = {f"{et}.json": render_json(event_schema(spec)) for et, spec in sorted(EVENTS.items())}
    files[SUBMISSION_FILE] = render_json(submission_schema())
    files[EXTRACT_FILE] = render_json(extract_schema())
    files[ASYNCAPI_FILE] = render_yaml(asyncapi_document(version))
    return dict(sorted(files.items()))


def _on_disk(directory: Path) -> list[Path]:
    """The files in `directory` that look generated (`*.json`, `*.yaml`)."""
    return sorted(p for p in directory.glob("*") if p.suffix in {".json", ".yaml"})


def check(directory: Path = GENERATED_DIR) -> list[str]:
    """Problems with the files in `directory`: one line per stale, missing or unexpected file."""
    expected = generated_files()
    problems = [
        f"{'missing' if not (directory / name).is_file() else 'stale'}: {directory / name}"
        for name, content in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != content
    ]
    problems += [f"unexpected: {path}" for path in _on_disk(directory) if path.name not in expected]
    return problems


def write(directory: Path = GENERATED_DIR) -> list[Path]:
    """Write every generated file that changed, delete unexpected ones; return the paths touched."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = generated_files()
    touched = [path for path in _on_disk(directory) if path.name not in expected]
    for path in touched:
        path.unlink()
    for name, content in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8", newline="\n")
            touched.append(path)
    return touched


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schemas.generate", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the generated files are out of date")
    parser.add_argument("--out", type=Path, default=GENERATED_DIR, help="output directory")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.out)
        for line in problems:
            sys.stderr.write(f"{line}\n")
        if problems:
            sys.stderr.write("the event contract is out of date: run `python -m schemas.generate`\n")
        return 1 if problems else 0
    for path in write(args.out):
        sys.stdout.write(f"{'updated' if path.exists() else 'removed'} {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
