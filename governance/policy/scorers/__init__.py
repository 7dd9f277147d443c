"""Placement scorer plugins, one per module; each module exports ``PLUGIN``."""
