"""Hyperbrick simulator: mesa and vectorized engines driving the same governance policy core."""
