#!/usr/bin/env bash
# Regenerates feblam/v1/ from proto/feblam/v1/*.proto (grpcio-tools from the dev extra).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m grpc_tools.protoc -I proto --python_out=. --pyi_out=. --grpc_python_out=. proto/feblam/v1/*.proto
for f in feblam/v1/*_pb2*.py feblam/v1/*_pb2.pyi; do
    { echo "# Generated from proto/${f#feblam/}; do not edit. Run proto/generate.sh."; cat "$f"; } > "$f.tmp"
    sed -i "s|^# Generated from proto/v1/\(.*\)_pb2\(_grpc\)\?\.pyi\?;|# Generated from proto/feblam/v1/\1.proto;|" "$f.tmp"
    mv "$f.tmp" "$f"
done
