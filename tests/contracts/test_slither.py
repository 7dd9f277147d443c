"""slither over the Solidity sources: no finding of any impact above informational.

Accepted low findings are silenced in the source with `slither-disable-next-line` next to a
comment that explains why (timestamp comparisons for expiries; the permit call before deposit).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from settlement.chain.toolchain import CONTRACTS_DIR, node_modules_dir

pytestmark = pytest.mark.slow


def test_slither_reports_no_low_medium_or_high(tools_bin: Path, tmp_path: Path) -> None:
    report = tmp_path / "slither.json"
    env = {
        **os.environ,
        "PATH": f"{node_modules_dir() / '.bin'}:{os.environ['PATH']}",
        # slither runs `forge clean` + `forge build`: keep it off the shared out/ and cache/.
        "FOUNDRY_OUT": str(tmp_path / "out"),
        "FOUNDRY_CACHE_PATH": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        [
            str(tools_bin / "slither"),
            ".",
            "--foundry-out-directory",
            str(tmp_path / "out"),
            "--filter-paths",
            "node_modules|test/",
            "--exclude-informational",
            "--exclude-optimization",
            "--json",
            str(report),
        ],
        cwd=CONTRACTS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.is_file(), result.stdout + result.stderr
    document = json.loads(report.read_text())
    assert document["success"], document.get("error")
    findings = [
        (finding["check"], finding["impact"], finding["description"].strip())
        for finding in document["results"].get("detectors", [])
    ]
    assert findings == [], "\n".join(
        f"[{impact}] {check}: {text}" for check, impact, text in findings
    )
