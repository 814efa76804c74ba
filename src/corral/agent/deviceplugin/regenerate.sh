#!/usr/bin/env bash
# Regenerates api_pb2.py and api_pb2_grpc.py from api.proto (needs grpcio-tools, a dev-time
# tool only: the generated modules are committed so that installing Corral compiles nothing).
set -euo pipefail
cd "$(dirname "$0")"
python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. api.proto
# protoc writes a top-level `import api_pb2`; make it relative to this package.
sed -i 's/^import api_pb2 as api__pb2$/from corral.agent.deviceplugin import api_pb2 as api__pb2/' \
  api_pb2_grpc.py
