"""The governance network service: a thin FastAPI shell around the policy core."""
