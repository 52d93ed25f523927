"""FEBLAM's bench suite: synthetic national traffic, peer comparisons and reports."""
