"""The pending queue keeps policy order incrementally."""

from builders import job
from corral.core.pending_queue import PendingQueue


def test_order_by_key_then_arrival():
    queue = PendingQueue(lambda j: (j.submit,))
    for j in [job("c", 5), job("a", 1), job("b", 1), job("d", 0)]:
        queue.add(j)
    assert [j.id for j in queue] == ["d", "a", "b", "c"]
    assert queue.head().id == "d"
    queue.remove("a")
    assert [j.id for j in queue] == ["d", "b", "c"]
    assert "a" not in queue and len(queue) == 3


def test_readding_keeps_arrival_order_for_ties():
    queue = PendingQueue(lambda j: 0)
    for name in "xyz":
        queue.add(job(name))
    queue.add(queue.remove("x"))
    assert [j.id for j in queue] == ["y", "z", "x"]
