"""FEBLAM: ANPR hit matching - normalise plate reads and match them against watchlists."""

from feblam.plates import PlateFormats, PlateStatus, normalise_pattern, normalise_plate

__version__ = "0.1.0"

__all__ = ["PlateFormats", "PlateStatus", "normalise_pattern", "normalise_plate", "__version__"]
