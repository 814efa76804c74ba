"""The kubelet's device plugin API v1beta1: ``api.proto`` from Kubernetes and the Python modules
grpcio-tools generated from it (``regenerate.sh``). Committed rather than generated at install,
so that installing Corral needs no protobuf compiler and every install runs the same code."""
