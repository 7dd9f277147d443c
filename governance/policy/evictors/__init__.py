"""Eviction plugins, one per module; each module exports ``PLUGIN``."""
