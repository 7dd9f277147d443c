"""Deliver outbox events (written in the transaction of the change they report) at least once.

A consumer must be idempotent by event id: a crash after `handler` ran but before the delivery mark
committed delivers that event again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from settlement.ledger.clock import now_ms
from settlement.ledger.models import OutboxEvent
from settlement.ledger.repository import Ledger


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox event as handed to a consumer."""

    id: int
    topic: str
    payload: dict[str, Any]


def deliver_outbox(ledger: Ledger, handler: Callable[[Event], None], *, limit: int = 500) -> int:
    """Hand undelivered events to `handler` in id order, marking each delivered after it returns."""
    with ledger.transaction() as session:
        rows = session.execute(
            select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload)
            .where(OutboxEvent.delivered_at_ms.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        ).all()
    delivered = 0
    for event_id, topic, payload in rows:
        handler(Event(int(event_id), str(topic), json.loads(payload)))
        with ledger.transaction() as session:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == event_id)
                .values(delivered_at_ms=now_ms())
            )
        delivered += 1
    return delivered
