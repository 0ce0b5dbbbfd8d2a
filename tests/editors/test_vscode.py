"""The VS Code extension (editors/vscode) in real VS Code: runs run_vscode_e2e.sh under pytest.

The script builds the .vsix, installs it into code-server 4.139.1 (Node 24) and drives it in headless
Debian Chromium with playwright-core against the real `diffill serve` (this Python) and model;
vscode_e2e.mjs says what it checks. Nothing is installed from here: the test is skipped, saying
what is missing, until tests/editors/install_vscode_deps.sh has run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CACHE = Path(os.environ.get("DIFFILL_EDITORS_CACHE", "/tmp/diffill-editors"))
NEEDS = {
    "Node 24": CACHE / "node-24.9.0" / "bin" / "node",
    "code-server": CACHE / "code-server-4.139.1" / "node_modules" / ".bin" / "code-server",
    "chromium": Path("/usr/bin/chromium"),
    "playwright-core": HERE / "node_modules" / "playwright-core",
}


@pytest.mark.slow
def test_vscode_extension_end_to_end(tmp_path: Path) -> None:
    missing = [f"{name} ({path})" for name, path in NEEDS.items() if not path.exists()]
    if missing:
        pytest.skip("not installed: " + ", ".join(missing) + "; run tests/editors/install_vscode_deps.sh")
    artifacts = os.environ.get("ARTIFACTS", str(HERE / "artifacts" / "vscode"))
    env = {**os.environ, "DIFFILL_E2E_NO_INSTALL": "1", "DIFFILL_PYTHON": sys.executable,
           "DIFFILL_THREADS": "1", "ARTIFACTS": artifacts}
    run = subprocess.run(["bash", str(HERE / "run_vscode_e2e.sh")], env=env, capture_output=True, text=True,
                         timeout=900)
    print(run.stdout[-6000:], run.stderr[-3000:], sep="\n")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "PASS" in run.stdout
