"""HTTP routes of the governance service: thin translations between JSON and `ClusterState`."""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Header, Request, status

from governance.policy import explain_placement
from governance.policy.reasons import (
    EVICTION_OUTCOMES,
    EVICTION_REASONS,
    PLACEMENT_REASONS,
)
from governance.policy.types import NO_REGION, Criticality, PaymentStatus, ServiceKind, Tier
from governance.service.identity import (
    ADDRESS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    IdentityError,
    SignedRequest,
    normalize_address,
    verify_request,
)
from governance.service.schemas import (
    CycleSummary,
    HeartbeatReport,
    NodeRegistration,
    NodeView,
    ReplicaView,
    Resources,
    ServiceRequest,
    ServiceView,
    WhyNot,
    parse_wei,
)
from governance.service.state import Heartbeat, NodeSpec, ServiceSpec, UnknownServiceError
from governance.service.store import save_node, save_service
from settlement.tokens.scopes import Scope

if TYPE_CHECKING:
    from governance.policy import CyclePlan
    from governance.service.app import Runtime

router = APIRouter(prefix="/v1")

_TIER_NAMES = {int(t): t.name.lower() for t in Tier}
_CRITICALITY = {c.name.lower(): int(c) for c in Criticality}
_KIND = {"service": int(ServiceKind.SERVICE), "task": int(ServiceKind.TASK)}


def runtime(request: Request) -> Runtime:
    """The app's shared runtime (set by the lifespan)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated["Runtime", Depends(runtime)]


async def signer(request: Request) -> str:
    """Verify the node/owner signature headers over this request; return the signer's address."""
    address = request.headers.get(ADDRESS_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    stamp = request.headers.get(TIMESTAMP_HEADER)
    if not (address and signature and stamp):
        raise IdentityError(
            f"sign the request: headers {ADDRESS_HEADER}, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER}"
        )
    if not stamp.isdigit():
        raise IdentityError(f"{TIMESTAMP_HEADER} must be milliseconds since the epoch")
    rt = runtime(request)
    signed = SignedRequest(request.method, request.url.path, int(stamp), await request.body())
    return verify_request(address, signature, signed, rt.guard, int(rt.clock.now_s() * 1000))


SignerDep = Annotated[str, Depends(signer)]


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: the signing key and how long its API token stays valid."""

    address: str
    paid_until_s: float


def _scoped(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    async def check(
        request: Request, address: SignerDep, authorization: Annotated[str | None, Header()] = None
    ) -> Caller:
        link = runtime(request).link
        if link is None:
            return Caller(address, float("inf"))
        return Caller(address, link.authorize(authorization, scope, address))

    return check


NodeCallerDep = Annotated[Caller, Depends(_scoped(Scope.NODES_REPORT))]
OwnerCallerDep = Annotated[Caller, Depends(_scoped(Scope.SERVICES_DEPLOY))]


def _resources(values: object) -> Resources:
    cpu, memory, disk = (float(v) for v in values)  # type: ignore[attr-defined]
    return Resources(cpu_millicores=cpu, memory_mib=memory, disk_mib=disk)


def _node_view(rt: Runtime, address: str) -> NodeView:
    row = rt.state.node_row(address)
    nodes = rt.state.nodes.view()
    spec = rt.state.node_specs[row]
    return NodeView(
        address=address,
        region=spec.region,
        failure_domain=spec.failure_domain,
        tier=_TIER_NAMES[int(nodes.tier[row])],
        reputation=float(nodes.reputation[row]),
        healthy=bool(nodes.healthy[row]),
        draining=bool(nodes.draining[row]),
        replicas_held=int(nodes.replicas_held[row]),
        capacity=_resources(nodes.capacity[row]),
        used=_resources(nodes.used[row]),
        stake_wei=str(spec.stake_wei),
    )


@router.post("/nodes", status_code=status.HTTP_201_CREATED)
async def register_node(body: NodeRegistration, caller: NodeCallerDep, rt: RuntimeDep) -> NodeView:
    """Register the signing key as a node; it starts as a newcomer."""
    address = caller.address
    spec = NodeSpec(
        address=address,
        region=body.region,
        failure_domain=body.failure_domain,
        capacity=body.capacity.as_tuple(),
        stake_wei=parse_wei(body.stake_wei),
        joined_at_s=rt.clock.now_s(),
    )
    row = rt.state.register_node(spec)
    save_node(rt.engine, row, spec)
    return _node_view(rt, address)


@router.get("/nodes/{address}")
async def get_node(address: str, rt: RuntimeDep) -> NodeView:
    """A node's public state: tier, reputation, capacity and load."""
    return _node_view(rt, normalize_address(address))


def _same_node(path_address: str, signed_by: str) -> str:
    address = normalize_address(path_address)
    if address != signed_by:
        raise IdentityError(f"{signed_by} may not report for {address}")
    return address


@router.post("/nodes/{address}/heartbeat", status_code=status.HTTP_202_ACCEPTED)
async def heartbeat(
    address: str, body: HeartbeatReport, caller: NodeCallerDep, rt: RuntimeDep
) -> dict[str, str]:
    """Accept a node's metrics report (signed by that node)."""
    address = _same_node(address, caller.address)
    used = body.used.as_tuple()
    # No claim in this report: NaN tells the reputation model there is nothing to compare.
    claim = body.reported_capacity
    reported = claim.as_tuple() if claim is not None else (float("nan"),) * len(used)
    beat = Heartbeat(
        used=used,
        reported_capacity=reported,
        healthy=body.healthy,
        jobs_succeeded=body.jobs_succeeded,
        jobs_failed=body.jobs_failed,
        sla_violations=body.sla_violations,
    )
    rt.state.record_heartbeat(address, beat, rt.clock.now_s())
    return {"status": "accepted"}


@router.post("/nodes/{address}/drain")
async def drain(address: str, caller: NodeCallerDep, rt: RuntimeDep) -> NodeView:
    """A node announces it is leaving: nothing new is placed on it."""
    address = _same_node(address, caller.address)
    rt.state.set_draining(address, True)
    return _node_view(rt, address)


@router.post("/services", status_code=status.HTTP_201_CREATED)
async def submit_service(
    body: ServiceRequest, caller: OwnerCallerDep, rt: RuntimeDep
) -> ServiceView:
    """Ask for a service or task to be placed; the signer is its owner and pays with its token."""
    spec = ServiceSpec(
        service_id=rt.next_service_id,
        name=body.name,
        owner=caller.address,
        demand=body.demand.as_tuple(),
        replicas=body.replicas,
        kind=_KIND[body.kind],
        duration_s=body.duration_s,
        criticality=_CRITICALITY[body.criticality],
        region=NO_REGION if body.region is None else body.region,
        depends_on=tuple(body.depends_on),
        payment=int(PaymentStatus.PAID),
        paid_until_s=caller.paid_until_s,
    )
    rt.state.add_service(spec)
    rt.next_service_id += 1
    save_service(rt.engine, rt.state.service_row(spec.service_id), spec)
    return _service_view(rt, spec.service_id)


@router.post("/services/{service_id}/renew")
async def renew_service(service_id: int, caller: OwnerCallerDep, rt: RuntimeDep) -> ServiceView:
    """The owner presents a fresh token: the service counts as paid until that token expires."""
    spec = rt.state.service_specs[rt.state.service_row(service_id)]
    if spec.owner != caller.address:
        raise IdentityError(f"service {service_id} belongs to {spec.owner}")
    rt.state.renew(service_id, caller.paid_until_s)
    return _service_view(rt, service_id)


def _service_view(rt: Runtime, service_id: int) -> ServiceView:
    spec = rt.state.service_specs[rt.state.service_row(service_id)]
    replicas = rt.state.replicas.view()
    views = []
    for row in rt.state.replicas_of(service_id):
        node = int(replicas.node[row])
        evict_at = float(replicas.evict_at_s[row])
        views.append(
            ReplicaView(
                replica_id=int(replicas.replica_id[row]),
                node=rt.state.node_specs[node].address if node >= 0 else None,
                evictions=int(replicas.evictions[row]),
                evict_at_s=evict_at if evict_at != float("inf") else None,
            )
        )
    kind = "task" if spec.kind == _KIND["task"] else "service"
    return ServiceView(
        service_id=service_id, name=spec.name, owner=spec.owner, kind=kind, replicas=views
    )


@router.get("/services/{service_id}")
async def get_service(service_id: int, rt: RuntimeDep) -> ServiceView:
    """A service and where its replicas run."""
    return _service_view(rt, service_id)


@router.get("/services/{service_id}/why-not/{address}")
async def why_not(service_id: int, address: str, rt: RuntimeDep, replica: int = 0) -> WhyNot:
    """Why replica ``replica`` of a service is not (or would not be) on node ``address``."""
    rows = rt.state.replicas_of(service_id)
    if not 0 <= replica < len(rows):
        raise UnknownServiceError(f"service {service_id} has replicas 0..{len(rows) - 1}")
    node = rt.state.node_row(normalize_address(address))
    now_s = rt.clock.now_s()
    answer = explain_placement(rt.state.snapshot(now_s), rt.params, now_s, rows[replica], node)
    best = answer.best_node
    return WhyNot(
        replica_id=replica,
        node=rt.state.node_specs[node].address,
        feasible=answer.feasible,
        failing_filters=[str(v.reason) for v in answer.failing],
        score=answer.score,
        factors=answer.factors,
        best_node=rt.state.node_specs[best].address if best >= 0 else None,
        best_score=answer.best_score,
        score_gap=answer.score_gap,
    )


def _operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = f"Bearer {runtime(request).settings.admin_token}"
    if authorization is None or not hmac.compare_digest(authorization, expected):
        raise IdentityError("operator calls need 'Authorization: Bearer <admin token>'")


@router.post("/cycles", dependencies=[Depends(_operator)])
async def run_cycle_now(rt: RuntimeDep, dry_run: bool = False) -> CycleSummary:
    """Run one governance cycle now (operators; the service also runs them on its interval)."""
    return summarize(rt.run_cycle(dry_run=dry_run))


@router.get("/cycles/last")
async def last_cycle(rt: RuntimeDep) -> CycleSummary | None:
    """The most recent cycle's summary, or null before the first."""
    return summarize(rt.state.last_plan) if rt.state.last_plan is not None else None


def summarize(plan: CyclePlan) -> CycleSummary:
    """Count a plan's decisions by reason and outcome."""
    placements = plan.placements
    evictions = plan.evictions
    return CycleSummary(
        params_version=plan.params_version,
        now_s=plan.now_s,
        dry_run=plan.dry_run,
        placed=placements.placed,
        unplaceable=len(placements) - placements.placed,
        placement_reasons=_count(PLACEMENT_REASONS, placements.reason),
        evictions_by_outcome=_count(EVICTION_OUTCOMES, evictions.outcome),
        evictions_by_reason=_count(EVICTION_REASONS, evictions.reason),
    )


def _count(names: tuple[object, ...], codes: object) -> dict[str, int]:
    counts = Counter(int(c) for c in codes)  # type: ignore[attr-defined]
    return {str(names[c]): n for c, n in sorted(counts.items())}


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}
