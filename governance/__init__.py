"""Hyperbrick governance: the pure policy core and the network service around it."""
