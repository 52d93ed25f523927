"""Slow, obviously correct pure-Python reference of the core: the oracle of the property tests."""
