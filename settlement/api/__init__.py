"""HTTP API of settlement: balances and token refresh/issue/revoke, as a router to mount."""
