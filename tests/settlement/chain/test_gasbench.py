"""Gas per payee meets the targets at 500 payees; the benchmark command prints the agreed rows."""

from __future__ import annotations

import json

import pytest

from governance.cli import main
from settlement.chain.anvil import TX_GAS_CAP, Anvil
from settlement.chain.gasbench import BATCH_SIZES, TARGET_GAS_PER_PAYEE
from settlement.chain.gasbench_run import GasBench

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("path", ["escrow", "settler"])
def test_500_payees_meet_the_gas_targets(anvil: Anvil, path: str) -> None:
    bench = GasBench.start(anvil.rpc_url)
    payees = bench.fresh_payees(500)
    new = bench.pay(path, payees) / 500
    existing = bench.pay(path, payees) / 500
    assert new <= TARGET_GAS_PER_PAYEE["new"], new
    assert existing <= TARGET_GAS_PER_PAYEE["existing"], existing
    # And not suspiciously low: the floor is one balance write + a Transfer event + calldata.
    assert new > 24_000
    assert existing > 7_000


@pytest.mark.slow
def test_bench_gas_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "gas", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert {(r["payees"], r["holders"]) for r in rows if r["path"] == "escrow"} == {
        (n, h) for n in BATCH_SIZES for h in ("new", "existing")
    }
    for row in rows:
        assert set(row) >= {"payees", "holders", "gas_per_payee"}
        if row["payees"] == 500:
            assert row["gas_per_payee"] <= TARGET_GAS_PER_PAYEE[row["holders"]]
    largest = {r["holders"]: r for r in rows if r["path"] == "escrow-max-under-cap"}
    assert 600 < largest["new"]["payees"] < largest["existing"]["payees"]
    for row in largest.values():
        assert row["gas_used"] <= TX_GAS_CAP
