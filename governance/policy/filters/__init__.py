"""Placement filter plugins, one per module; each module exports ``PLUGIN``.

`fused` is not a plugin: it checks a round's picks against the built-in filters in one pass.
"""
