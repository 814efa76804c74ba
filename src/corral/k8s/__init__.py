"""The Kubernetes backend: a secondary scheduler that runs the same core as the simulator.

It lists and watches the API server into an incrementally kept :class:`~corral.core.ClusterState`
(:mod:`corral.k8s.cluster_cache`), runs :meth:`corral.core.Scheduler.cycle` when something
changed or a tick is due (:mod:`corral.k8s.loop`), and carries out the decisions as bindings
and evictions (:mod:`corral.k8s.applier`). docs/kubernetes.md describes it for users.
"""

from corral.extras import require

require("k8s", "Kubernetes (scheduler, status, jobs, queues, cancel, hold, resume)",
        "kubernetes_asyncio", "aiohttp", "orjson", "prometheus_client")
