"""Reserving the agent's node for Corral: the ``corral.dev/reserved=corral:NoSchedule`` taint.

Corral runs beside the stock kube-scheduler, which keeps placing the pods that do not name
Corral. On a GPU node the two would race for the same GPUs: each binds from its own view, and
the kubelet then fails whichever pod comes second. With ``--reserve-node`` (on in the agent's
Helm chart) the agent taints its node at start, so the stock scheduler keeps its pods off.
Corral's scheduler takes its own pods to tolerate the taint; everything else that must run on
the node (the agent's DaemonSet, NVIDIA's and monitoring DaemonSets) needs a toleration.

The agent adds the taint only if it is absent and never removes it, not even on exit: a node
left untainted while the agent restarts would let the race back in. Removing it is a person's
decision (``kubectl taint node NODE corral.dev/reserved-``).
"""

from __future__ import annotations

import logging

from corral import kube_contract as contract
from corral.agent.kube import KubeApi, KubeError

EFFECT = "NoSchedule"
TAINT = {"key": contract.RESERVED_TAINT, "value": contract.RESERVED_TAINT_VALUE,
         "effect": EFFECT}
MAX_TRIES = 5
"""Reads and conditional writes of the taints before giving up (another writer kept winning)."""
CONFLICT = 409

log = logging.getLogger(__name__)


def reserve_node(kube: KubeApi, node: str) -> bool:
    """Add :data:`TAINT` to *node* unless a ``NoSchedule`` taint of its key is there; True if
    this call added it.

    The taints are one list, so the write is conditional on the node's ``resourceVersion``
    and is tried again, from a fresh read, when another writer came first. Raises
    :class:`KubeError` for any other refusal, or when the node kept changing.
    """
    for _ in range(MAX_TRIES):
        taints, version = kube.node_taints(node)
        present = next((t for t in taints if t.get("key") == contract.RESERVED_TAINT
                        and t.get("effect") == EFFECT), None)
        if present is not None:
            if present.get("value", "") != contract.RESERVED_TAINT_VALUE:
                log.info("node %s already carries %s=%s:%s; left as it is", node,
                         contract.RESERVED_TAINT, present.get("value", ""), EFFECT)
            return False
        try:
            kube.set_node_taints(node, [*taints, TAINT], version)
        except KubeError as exc:
            if exc.status != CONFLICT:
                raise
            continue
        log.info("node %s reserved for Corral: taint %s=%s:%s added", node,
                 contract.RESERVED_TAINT, contract.RESERVED_TAINT_VALUE, EFFECT)
        return True
    raise KubeError(f"node {node}: its taints changed under every one of {MAX_TRIES} tries; "
                    f"{contract.RESERVED_TAINT} not added")
