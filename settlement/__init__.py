"""Hyperbrick settlement: API tokens, metering ledger and write-ahead on-chain payouts."""
