"""Expiring API tokens: issue, verify (MAC-signed, no DB per request), refresh, revoke, earn."""
