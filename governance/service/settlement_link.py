"""Governance's use of settlement: scoped API tokens on writes, earned credit, the balances router.

Governance may use settlement (never the reverse). With a link, every node or owner write needs a
bearer token with the right scope whose subject is the signing key, each non-dry-run cycle credits
nodes for the capacity they kept up (settlement's `credit_contributions`: one ledger transaction,
idempotent per node and period), and the settlement router (`/v1/balances/...`,
`/v1/tokens/...`) is mounted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from fastapi import APIRouter

from governance.service.identity import IdentityError
from governance.service.state import ClusterState
from settlement.api.app import balance_service
from settlement.api.balances import BalanceService
from settlement.api.routes import settlement_router
from settlement.api.settings import BalancesApiSettings
from settlement.errors import SettlementError
from settlement.ledger.repository import open_ledger
from settlement.tokens.earn import ContributionReport, credit_contributions
from settlement.tokens.scopes import Scope
from settlement.tokens.service import TokenService
from settlement.tokens.settings import TokenSettings
from settlement.tokens.store import create_tables
from settlement.tokens.wiring import LedgerCredits, build_token_service

MILLICORES_PER_CAPACITY_UNIT = 1_000  # one earning unit = one CPU core kept available
PPM = 1_000_000


@dataclass(frozen=True)
class SettlementLink:
    """The settlement parts a governance service uses."""

    tokens: TokenService
    balances: BalanceService
    credits: LedgerCredits

    def router(self) -> APIRouter:
        """Return settlement's router (balances and token endpoints) to mount."""
        return settlement_router(self.tokens, self.balances)

    def authorize(self, authorization: str | None, scope: Scope, signer: str) -> float:
        """Require a bearer token with ``scope`` issued to the signer; return its expiry (s)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise IdentityError(f"this call needs 'Authorization: Bearer <token>' with {scope}")
        try:
            claims = self.tokens.verify(authorization.removeprefix("Bearer "), scope)
        except SettlementError as error:
            raise IdentityError(f"API token refused: {error}") from None
        if claims.subject_address.lower() != signer.lower():
            raise IdentityError(f"the token belongs to {claims.subject_address}, not {signer}")
        return float(claims.expires_at_s)

    def credit_contributions(self, state: ClusterState, uptime: np.ndarray, period: int) -> int:
        """Credit every node for this period's capacity x uptime in one ledger transaction."""
        cpu = state.nodes.column("capacity")[:, 0]
        reports = [
            ContributionReport(
                address=spec.address,
                period=period,
                capacity_units=int(cpu[row]) // MILLICORES_PER_CAPACITY_UNIT,
                uptime_ppm=min(PPM, max(0, round(float(uptime[row]) * PPM))),
            )
            for row, spec in enumerate(state.node_specs)
        ]
        return credit_contributions(self.credits, reports)


def build_settlement_link(
    balances: BalancesApiSettings, tokens: TokenSettings, ledger_url: str | None = None
) -> SettlementLink:
    """Open the ledger and assemble the token and balance services from their settings."""
    ledger = open_ledger(ledger_url or balances.database_url)
    create_tables(ledger.engine)
    return SettlementLink(
        tokens=build_token_service(tokens, ledger),
        balances=balance_service(balances, ledger),
        credits=LedgerCredits(ledger),
    )
