"""`hyperbrick tokens ...` and `hyperbrick bench tokens` through the real root command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from governance.cli import main

ALICE = "0x" + "a1" * 20


@pytest.fixture(autouse=True)
def dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERBRICK_TOKENS_MODE", "dev")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_issue_refresh_revoke_balance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    code, out, _ = run(
        capsys, "tokens", "issue", "--db", db, "--subject", ALICE,
        "--scope", "balances:read,nodes:report", "--lifetime-s", "120",
    )  # fmt: skip
    assert code == 0
    issued = json.loads(out)
    assert issued["scopes"] == ["balances:read", "nodes:report"]
    assert issued["expires_at_s"] - issued["issued_at_s"] == 120

    code, _, err = run(capsys, "tokens", "refresh", "--db", db, issued["token"])
    assert code == 2
    assert err.strip().startswith("hyperbrick: error: refresh refused: no_credit")
    assert "Traceback" not in err

    from settlement.ledger.repository import open_ledger

    ledger = open_ledger(db)
    ledger.credit(ALICE, 10**18, idempotency_key="buy:cli", reason="deposit")
    ledger.close()
    monkey_stdin = io.StringIO(issued["token"] + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", monkey_stdin)
        code, out, _ = run(capsys, "tokens", "refresh", "--db", db, "-")
    assert code == 0
    assert json.loads(out)["generation"] == 1

    code, out, _ = run(capsys, "tokens", "revoke", "--db", db, "--subject", ALICE)
    assert (code, json.loads(out)["revoked"]) == (0, "subject")

    code, out, _ = run(capsys, "tokens", "balance", "--db", db, ALICE)
    assert code == 0
    assert json.loads(out)["credit_wei"] == str(10**18)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["issue", "--subject", "0xnope", "--scope", "balances:read"], "address"),
        (["issue", "--subject", ALICE, "--scope", "balances:write"], "unknown scope"),
        (["revoke", "--token-id", "abc"], "32 hex"),
        (["refresh", "hb1.dev.garbage"], "token refused: malformed"),
        (["balance", "0x12"], "address"),
    ],
)
def test_user_mistakes_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    code, _, err = run(capsys, "tokens", argv[0], "--db", db, *argv[1:])
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_prod_mode_without_keys_refuses_to_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYPERBRICK_TOKENS_MODE", "prod")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    code, _, err = run(
        capsys, "tokens", "issue", "--db", db, "--subject", ALICE, "--scope", "balances:read"
    )
    assert code == 2
    assert "HYPERBRICK_TOKENS_KEYS" in err


def test_bench_tokens_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bench", "tokens", "--json", "--tokens", "2000", "--repeat", "1")
    assert code == 0
    rows = json.loads(out)["results"]
    assert {row["path"] for row in rows} == {"cold", "warm", "service", "forged"}
    assert all(row["verifications_per_s"] > 0 for row in rows)
