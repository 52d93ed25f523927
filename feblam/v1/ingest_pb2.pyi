# Generated from proto/feblam/v1/ingest.proto; do not edit. Run proto/generate.sh.
from feblam.v1 import reads_pb2 as _reads_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
