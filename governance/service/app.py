"""`create_app(settings)`: the governance service — node registry, service intake, policy cycles.

The app holds one `ClusterState`, one seeded `numpy.random.Generator` and the policy params; all
mutations run on the event loop (handlers are `async def` and never await mid-mutation), so requests
and the periodic cycle never interleave inside a change. The policy itself is `governance.policy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from fastapi import FastAPI
from sqlalchemy import Engine

from governance.clock import Clock, SystemClock
from governance.params_file import load_params
from governance.policy import CyclePlan, PolicyParams
from governance.service.errors import install_error_handlers
from governance.service.identity import ReplayGuard
from governance.service.routes import router
from governance.service.settings import ServiceSettings
from governance.service.settlement_link import SettlementLink
from governance.service.state import ClusterState
from governance.service.store import load_state, open_engine, save_cycle
from settlement.api.routes import add_balances_openapi

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything the handlers share, hung on ``app.state.runtime``."""

    settings: ServiceSettings
    params: PolicyParams
    clock: Clock
    rng: np.random.Generator
    state: ClusterState
    engine: Engine
    guard: ReplayGuard
    next_service_id: int
    link: SettlementLink | None = None

    def run_cycle(self, dry_run: bool = False) -> CyclePlan:
        """Run one policy cycle now and persist its outcome."""
        params = self.params
        if dry_run and not params.eviction.dry_run:
            params = dataclasses.replace(
                params, eviction=dataclasses.replace(params.eviction, dry_run=True)
            )
        plan = self.state.run_cycle(params, self.clock.now_s(), self.rng)
        if not plan.dry_run:
            save_cycle(self.engine, self.state)
            observed = self.state.last_observations
            if self.link is not None and observed is not None:
                self.link.credit_contributions(
                    self.state, observed.uptime_fraction, int(plan.now_s)
                )
        return plan


def params_for(settings: ServiceSettings) -> PolicyParams:
    """Return the configured params (file) or the defaults."""
    if settings.params_file is None:
        return PolicyParams()
    return load_params(settings.params_file)


def create_app(
    settings: ServiceSettings, clock: Clock | None = None, link: SettlementLink | None = None
) -> FastAPI:
    """Build the service; nothing is read from the environment here (pass `ServiceSettings()`).

    With a settlement ``link``, writes need scoped API tokens, cycles credit earned contribution and
    the balances/token endpoints are mounted; without one, key-pair signatures alone authenticate.
    """
    clock = clock or SystemClock()
    params = params_for(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_engine(settings.database_url)
        state = ClusterState(settings.heartbeat_interval_s, clock.now_s())
        load_state(engine, state)
        runtime = Runtime(
            settings=settings,
            params=params,
            clock=clock,
            rng=np.random.default_rng(settings.seed),
            state=state,
            engine=engine,
            guard=ReplayGuard(settings.max_clock_skew_s),
            next_service_id=max(state.service_rows, default=-1) + 1,
            link=link,
        )
        app.state.runtime = runtime
        ticker = None
        if settings.cycle_interval_s > 0:
            ticker = asyncio.create_task(_cycle_forever(runtime, settings.cycle_interval_s))
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            engine.dispose()

    app = FastAPI(title="Hyperbrick governance", version="1", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(router)
    if link is not None:
        app.include_router(link.router())
        add_balances_openapi(app)
    return app


async def _cycle_forever(runtime: Runtime, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            runtime.run_cycle()
        except Exception:  # a failed cycle must not stop the next one; it is logged, not hidden
            logger.exception("governance cycle failed")
