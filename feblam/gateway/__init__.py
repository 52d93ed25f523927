"""The reference Hit Gateway: receives hits, stores them, serves dispatch consoles."""
