#!/usr/bin/env bash
# Regenerates api_pb2.py and api_pb2_grpc.py from api.proto (needs grpcio-tools, a dev-time
# tool only: the generated modules are committed so that installing Corral compiles nothing).
# Compiled from the source root, so that the file registers in protobuf's pool under its
# package path, not as a bare "api.proto", which the device plugin API already is.
set -euo pipefail
cd "$(dirname "$0")/../../.."
python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. \
  corral/agent/podresources/api.proto
