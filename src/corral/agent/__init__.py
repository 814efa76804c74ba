"""The node agent: runs on every GPU node, makes the scheduler's fractional GPUs true (MPS limits
handed out through the kubelet's device plugin API), measures GPUs and the pods on them, and
writes what jobs did to the job-history store.

The scheduler side never imports this package; the two meet only through the pod annotations and
resources named in :mod:`corral.kube_contract`.
"""

from corral.extras import require

require("agent", "The node agent", "grpc", "google.protobuf", "pynvml", "prometheus_client")
