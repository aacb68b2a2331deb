"""The event contract: every message on every topic, and the topic registry.

This package is the only thing the services share as a contract. It holds pydantic
models and nothing else: no I/O, no framework imports.
"""

from schemas.envelope import Envelope, SchemaVersion
from schemas.registry import EVENTS, TOPICS, EventSpec, TopicSpec, event_spec, topic_spec

__all__ = [
    "EVENTS",
    "TOPICS",
    "Envelope",
    "EventSpec",
    "SchemaVersion",
    "TopicSpec",
    "event_spec",
    "topic_spec",
]
