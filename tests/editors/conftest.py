"""Real-editor tests: Neovim with editors/nvim, VS Code (code-server) with editors/vscode."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes several seconds of model time")
