"""The kubelet's PodResources API v1: ``api.proto`` (written from the published definition) and
the Python modules grpcio-tools generated from it (``regenerate.sh``). Committed rather than
generated at install, as the device plugin API's are."""
