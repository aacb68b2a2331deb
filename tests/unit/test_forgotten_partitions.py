"""A consumer must notice when the broker lost a topic it had read, or it would skip its new events."""

from __future__ import annotations


def test_a_partition_is_forgotten_only_when_the_broker_ends_before_what_was_read() -> None:
    from services.runtime.streams import forgotten

    read = {"a": 499, "b": 10, "c": None, "d": 7, "e": 3}
    ends = {"a": 12, "b": 11, "c": 0, "d": None, "e": 3}
    # a: the broker now ends at 12 after 500 were read (it lost the topic); b: caught up;
    # c: nothing read yet; d: no end known yet; e: committed offset (the next to read) at the end
    assert sorted(forgotten(read, ends)) == ["a"]
