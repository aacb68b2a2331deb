"""Which partition a keyed event goes to: Kafka's default (murmur2 of the key), computed faster.

Every relay partitions three events per intake submission, and aiokafka's pure-Python murmur2
reads the key a byte at a time (about 5.5 µs for a request id, 3 % of the intake's CPU under
load). This one reads it a word at a time and gives the same partition as aiokafka and the Java
client, so events of one request keep landing on one partition whoever produces them.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) as an unsigned 32-bit int."""
    length = len(data)
    h = _SEED ^ length
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        base = length & ~3
        if tail >= 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def default_partition(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """The partitioner aiokafka calls: keyed events by murmur2, unkeyed ones anywhere available."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
