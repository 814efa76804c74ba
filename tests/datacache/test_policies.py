"""Policies on tiny hand-built access sequences where the right hits are obvious."""

from __future__ import annotations

import pytest

from corral.datacache.index import MemoryIndex
from corral.datacache.policies import POLICIES, make_policy
from corral.model import ConfigError


def hits(policy: str, capacity: int, accesses: str, size: int = 1) -> str:
    """Replay *accesses* (one letter per read, each *size* bytes); return the hit letters."""
    chosen, index, out = make_policy(policy), MemoryIndex(capacity), []
    for key in accesses:
        if key in index:
            out.append(key)
            chosen.on_hit(index, key)
        elif chosen.make_room(index, size):
            index.add(key, "d", "v", size)
        assert index.used() <= capacity
    return "".join(out)


@pytest.mark.parametrize(("policy", "accesses", "expected"), [
    # NR keeps the first two forever: a, b hit every time after; c, d never do.
    ("nr", "abcd" "dcba" "badc", "ba" "ba"),
    # LRU: after a b c d the cache holds c d; reading d c b a hits d c, then holds b a...
    ("lru", "abcd" "dcba" "badc", "dc" "ba"),
    # FIFO: holds c d after epoch 1; d c hit, b evicts c, a evicts d; b a hit in epoch 3.
    ("fifo", "abcd" "dcba" "badc", "dc" "ba"),
    # Re-reading one item: every policy hits it.
    ("lru", "aaaa", "aaa"),
    ("fifo", "aaaa", "aaa"),
    ("nr", "aaaa", "aaa"),
    ("random", "aaaa", "aaa"),
    # LRU keeps a recently-hit item that FIFO evicts.
    ("lru", "aba" "c" "a", "aa"),
    ("fifo", "aba" "c" "a", "a"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 8 else None)
def test_hits_on_small_sequences(policy: str, accesses: str, expected: str) -> None:
    assert hits(policy, 2, accesses) == expected


def test_nr_hits_exactly_cache_over_dataset_each_epoch() -> None:
    """Cyclic scans of 10 items through 4 slots: LRU and FIFO hit nothing, NR hits 4 per pass."""
    scan = "abcdefghij" * 3
    assert hits("nr", 4, scan) == "abcd" * 2
    assert hits("lru", 4, scan) == ""
    assert hits("fifo", 4, scan) == ""


def test_random_stays_within_bound_and_hits_some() -> None:
    got = hits("random", 4, "abcdefghij" * 20)
    assert 0 < len(got) < 4 * 19


def test_nr_skips_a_file_too_large_but_admits_a_later_small_one() -> None:
    policy, index = make_policy("nr"), MemoryIndex(10)
    index.add("a", "d", "v", 6)
    assert not policy.make_room(index, 5)
    assert policy.make_room(index, 4)


def test_an_entry_larger_than_the_cache_is_never_admitted() -> None:
    for name in POLICIES:
        assert not make_policy(name).make_room(MemoryIndex(10), 11)


def test_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown cache policy 'mru'; known: nr, lru"):
        make_policy("mru")
