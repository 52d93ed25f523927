"""The engine service: gRPC ingest of camera reads, configuration, health and metrics."""
