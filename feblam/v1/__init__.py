"""Code generated from proto/feblam/v1 (the wire contract); see proto/generate.sh."""
