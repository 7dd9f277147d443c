"""Hyperbrick simulator: mesa and vectorized engines driving the same governance policy core.

Module map: `scenario` (pydantic schema and loader), `world` (columns: the policy's snapshot plus
hidden truth), `dynamics` (churn, outages, requests, identities, tasks), `core` (one step: policy
cycle, `actuator`, economics, KPIs), `engines` (`vector`, `mesa_model`), `kpis`, `output`,
`report`, `runner`/`app` (`sim run`), `sweep` (`sim sweep`), `shards` (1e9-node steps), `bench`.
"""
