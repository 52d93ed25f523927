"""Hits: prioritisation, suppression, the durable outbox and delivery to the Hit Gateway."""
