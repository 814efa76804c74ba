"""The queue tree the cache schedules with, and which namespaces may use which queue.

Queues come from the operator's ``--queues`` file (open to every namespace) and from Queue
objects (open to the namespaces their namespaceSelector picks); pods other schedulers bound
go to a hidden leaf of their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.k8s.queue_crd import QueueObject, queue_tree
from corral.model import InvalidSpec, Queue, QueueTree

UNMANAGED_QUEUE = "corral.dev/unmanaged"
"""The hidden leaf queue of pods other schedulers bound: it holds capacity, owns no quota."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the API server puts on every namespace, naming it (so selectors can)."""


def assemble_tree(file_queues: QueueTree | None, queue_objects: Mapping[str, QueueObject],
                  problems: dict[str, str]) -> QueueTree | None:
    """The file's queues and the Queue objects' as one tree (a file queue wins over an object
    of its name); None if there are none. What cannot be used is noted in *problems*."""
    queues: list[Queue] = []
    default = None
    if file_queues is not None:
        queues += file_queues.queues.values()
        default = file_queues.default
    file_names = {q.name for q in queues}
    objects = [o for o in queue_objects.values() if o.queue.name not in file_names]
    try:
        crd_tree = queue_tree(objects)
    except InvalidSpec as exc:
        problems["queue/*"] = str(exc)
        crd_tree, objects = None, []
    else:
        problems.pop("queue/*", None)
    if crd_tree is not None:
        queues += [o.queue for o in objects]
        default = default or crd_tree.default
    if not queues:
        return None
    queues.append(Queue(UNMANAGED_QUEUE))
    try:
        return QueueTree(queues, default)
    except InvalidSpec as exc:
        problems["queue/*"] = f"queues ignored: {exc}"
        return None


def queue_refusal(tree: QueueTree | None, file_queues: QueueTree | None,
                  queue_objects: Mapping[str, QueueObject],
                  namespace_labels: Mapping[str, Mapping[str, str]],
                  namespace: str, queue: str) -> str:
    """Why pods of *namespace* may not use *queue* ('' if they may, or if the queue is
    unknown: that is reported as such). Queues from the operator's ``--queues`` file are
    open to every namespace; Queue objects only to those their namespaceSelector picks."""
    if tree is None:
        return ""
    try:
        leaf = tree.leaf_of(queue)
    except InvalidSpec:
        return ""
    obj = queue_objects.get(leaf)
    if obj is None or (file_queues is not None and leaf in file_queues.queues):
        return ""
    labels = {**namespace_labels.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}
    return obj.refuses(namespace, labels)
