"""Watchlists: list definitions, entry files, validation, versions and the audit log."""
