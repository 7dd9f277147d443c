"""Durable state of the governance service (SQLite by default, any SQLAlchemy URL).

Registrations, services, assignments and earned reputation are facts worth keeping; metrics are not
(nodes report again within one heartbeat). Writes happen per registration and once per cycle.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)

from governance.service.state import ClusterState, NodeSpec, ServiceSpec

metadata = MetaData()

nodes_table = Table(
    "gov_nodes",
    metadata,
    Column("row", Integer, primary_key=True),
    Column("address", String(42), unique=True, nullable=False),
    Column("spec", Text, nullable=False),  # NodeSpec as JSON; stake_wei as a decimal string
    Column("reputation", Float, nullable=False, default=0.0),
    Column("tier", Integer, nullable=False, default=0),
    Column("draining", Boolean, nullable=False, default=False),
)
services_table = Table(
    "gov_services",
    metadata,
    Column("row", Integer, primary_key=True),
    Column("service_id", Integer, unique=True, nullable=False),
    Column("spec", Text, nullable=False),
)
replicas_table = Table(
    "gov_replicas",
    metadata,
    Column("row", Integer, primary_key=True),
    Column("node_row", Integer, nullable=False),
    Column("started_at_s", Float, nullable=False),
    Column("evictions", Integer, nullable=False),
    Column("last_evicted_node", Integer, nullable=False),
    Column("last_evicted_at_s", Float, nullable=False),
    Column("evict_at_s", Float, nullable=False),
    Column("evict_reason", Integer, nullable=False),
)


def open_engine(url: str) -> Engine:
    """Create the engine and the tables; SQLite gets WAL and full fsync."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(connection: object, _: object) -> None:
            cursor = connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    metadata.create_all(engine)
    return engine


def _node_json(spec: NodeSpec) -> str:
    data = dataclasses.asdict(spec)
    data["stake_wei"] = str(spec.stake_wei)
    return json.dumps(data)


def save_node(engine: Engine, row: int, spec: NodeSpec) -> None:
    """Persist a new registration."""
    with engine.begin() as conn:
        conn.execute(
            insert(nodes_table).values(row=row, address=spec.address, spec=_node_json(spec))
        )


def save_service(engine: Engine, row: int, spec: ServiceSpec) -> None:
    """Persist a new service."""
    with engine.begin() as conn:
        conn.execute(
            insert(services_table).values(
                row=row, service_id=spec.service_id, spec=json.dumps(dataclasses.asdict(spec))
            )
        )


def save_cycle(engine: Engine, state: ClusterState) -> None:
    """Persist what a cycle changed: reputations, tiers, drain flags, every replica's placement."""
    nodes = state.nodes.view()
    replicas = state.replicas.view()
    with engine.begin() as conn:
        if nodes.size:
            # One executemany for every node, not one statement per node.
            conn.execute(
                update(nodes_table)
                .where(nodes_table.c.row == bindparam("node_row"))
                .values(
                    reputation=bindparam("new_reputation"),
                    tier=bindparam("new_tier"),
                    draining=bindparam("new_draining"),
                ),
                [
                    {
                        "node_row": row,
                        "new_reputation": reputation,
                        "new_tier": tier,
                        "new_draining": draining,
                    }
                    for row, (reputation, tier, draining) in enumerate(
                        zip(
                            nodes.reputation.tolist(),
                            nodes.tier.tolist(),
                            nodes.draining.tolist(),
                            strict=True,
                        )
                    )
                ],
            )
        conn.execute(delete(replicas_table))
        if replicas.size:
            conn.execute(
                insert(replicas_table),
                [
                    {
                        "row": i,
                        "node_row": int(replicas.node[i]),
                        "started_at_s": float(replicas.started_at_s[i]),
                        "evictions": int(replicas.evictions[i]),
                        "last_evicted_node": int(replicas.last_evicted_node[i]),
                        "last_evicted_at_s": _finite_or(replicas.last_evicted_at_s[i], -1e300),
                        "evict_at_s": _finite_or(replicas.evict_at_s[i], 1e300),
                        "evict_reason": int(replicas.evict_reason[i]),
                    }
                    for i in range(replicas.size)
                ],
            )


def _finite_or(value: float, sentinel: float) -> float:
    # SQL REAL cannot hold +-inf portably; store a sentinel far beyond any real time.
    return float(value) if np.isfinite(value) else sentinel


def _unsentinel(value: float) -> float:
    return float(np.sign(value) * np.inf) if abs(value) >= 1e300 else value


def load_state(engine: Engine, state: ClusterState) -> None:
    """Rebuild a fresh `ClusterState` from the database, in original registration order."""
    with engine.connect() as conn:
        node_rows = conn.execute(select(nodes_table).order_by(nodes_table.c.row)).all()
        service_rows = conn.execute(select(services_table).order_by(services_table.c.row)).all()
        replica_rows = conn.execute(select(replicas_table).order_by(replicas_table.c.row)).all()
    for record in node_rows:
        data = json.loads(record.spec)
        data["stake_wei"] = int(data["stake_wei"])
        data["capacity"] = tuple(data["capacity"])
        row = state.register_node(NodeSpec(**data))
        state.nodes.update(
            row, reputation=record.reputation, tier=record.tier, draining=record.draining
        )
    for record in service_rows:
        data = json.loads(record.spec)
        data["demand"] = tuple(data["demand"])
        data["depends_on"] = tuple(data["depends_on"])
        state.add_service(ServiceSpec(**data))
    for record in replica_rows:
        if record.row >= len(state.replicas):
            continue
        state.replicas.update(
            record.row,
            node=record.node_row,
            started_at_s=record.started_at_s,
            evictions=record.evictions,
            last_evicted_node=record.last_evicted_node,
            last_evicted_at_s=_unsentinel(record.last_evicted_at_s),
            evict_at_s=_unsentinel(record.evict_at_s),
            evict_reason=record.evict_reason,
        )
    state.refresh_allocation()
