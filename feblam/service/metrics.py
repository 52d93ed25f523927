"""The engine's Prometheus metrics, on a registry of the caller's (tests build their own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
                    10.0, 30.0, 60.0)


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.reads = Counter("feblam_reads_total", "Reads received, by status", ["status"],
                             registry=registry)
        # Which integrator sends what: ops see at once whose reads are refused, and why.
        self.integrator_reads = Counter("feblam_integrator_reads_total",
                                        "Reads received from each integrator, by status",
                                        ["integrator", "status"], registry=registry)
        self.hits = Counter("feblam_hits_total", "Hits raised, by list, priority and match kind",
                            ["list", "priority", "kind"], registry=registry)
        self.sightings = Counter("feblam_sightings_total",
                                 "Sightings added to an open hit's trail instead of a new hit",
                                 ["list"], registry=registry)
        self.retro_hits = Counter("feblam_retroactive_hits_total",
                                  "Hits raised for earlier reads when entries were added",
                                  ["list"], registry=registry)
        self.batches_refused = Counter("feblam_batches_refused_total",
                                       "Batches refused at the in-flight limit", registry=registry)
        self.batch_seconds = Histogram("feblam_batch_seconds",
                                       "Time from a batch's arrival to its acknowledgement",
                                       buckets=_LATENCY_BUCKETS, registry=registry)
        self.delivery_seconds = Histogram("feblam_delivery_seconds",
                                          "Time from a hit's commit to the gateway's acknowledgement",
                                          buckets=_LATENCY_BUCKETS, registry=registry)
        self.outbox_depth = Gauge("feblam_outbox_depth", "Hits and sightings awaiting delivery",
                                  registry=registry)
        self.inflight_reads = Gauge("feblam_inflight_reads", "Reads being processed now",
                                    registry=registry)
        self.retro_reads = Gauge("feblam_retro_buffer_reads",
                                 "Reads held (as keyed hashes) for retroactive matching",
                                 registry=registry)
        self.watchlist_version = Gauge("feblam_watchlist_version", "Serving version of each list",
                                       ["list"], registry=registry)
        self.watchlist_entries = Gauge("feblam_watchlist_entries", "Active entries of each list",
                                       ["list"], registry=registry)


def serve_metrics(address: str, registry: CollectorRegistry) -> int:
    """Serves /metrics on host:port (port 0 picks one) in a daemon thread; returns the port."""
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)
    return int(server.server_port)
