"""``corral status``: pods without a queue label are shown under the Queue they really use."""

from __future__ import annotations

from k8s_builders import pod, queue

from corral.k8s.status_report import NO_QUEUE, summarise


def _rows(queues: list[dict], pods: list[dict]) -> dict[str, tuple[int, int]]:
    report = summarise(queues, pods, [])
    return {r.name: (r.running_pods, r.pending_pods) for r in report.queues}


def test_pods_naming_no_queue_are_counted_under_the_default_queue() -> None:
    pods = [pod("unlabelled", 1, node_name="n0"), pod("waiting", 1),
            pod("labelled", 1, queue="team-a", node_name="n0")]
    rows = _rows([queue("team-a", 4), queue("shared", 8, default=True)], pods)
    assert rows == {"team-a": (1, 0), "shared": (1, 1)}


def test_without_a_default_queue_they_are_shown_as_having_none() -> None:
    rows = _rows([queue("team-a", 4)], [pod("unlabelled", 1, node_name="n0")])
    assert rows == {"team-a": (0, 0), NO_QUEUE: (1, 0)}


def test_a_queue_named_default_is_still_the_one_pods_name() -> None:
    rows = _rows([queue("default", 2), queue("shared", 8, default=True)],
                 [pod("p", 1, node_name="n0")])
    assert rows == {"default": (1, 0), "shared": (0, 0)}
