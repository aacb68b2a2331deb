"""Our murmur2 must put every key on the partition Kafka's default partitioner would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.partitioning import default_partition, murmur2


@given(st.binary(max_size=300))
def test_murmur2_equals_aiokafkas_for_any_bytes(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_a_key_lands_where_the_default_partitioner_puts_it(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert default_partition(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_known_values_from_the_java_client() -> None:
    # Values from Kafka's own tests (UtilsTest.testMurmur2), as signed 32-bit ints there.
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, signed in cases.items():
        assert murmur2(data) == signed & 0xFFFFFFFF


def test_an_unkeyed_event_goes_to_an_available_partition() -> None:
    assert default_partition(None, [0, 1, 2, 3], [2]) == 2
    assert default_partition(None, [0, 1], []) in (0, 1)
