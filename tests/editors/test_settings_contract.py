"""What the two clients promise about their settings, read from their sources (no editor runs).

Workspace trust: every VS Code setting that chooses what runs or what is loaded (the server
executable, its arguments and environment, the model, remote code, files the server writes) is
machine-scoped, so VS Code never takes it from a workspace's .vscode/settings.json, and is listed
in `capabilities.untrustedWorkspaces.restrictedConfigurations`. The code-server test
(vscode_e2e.mjs) shows it in a real editor. The client-side settings shared by both clients have
the same names in VS Code, Neovim and the README.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
SETTINGS = PACKAGE["contributes"]["configuration"]["properties"]
NVIM_CONFIG = (ROOT / "editors" / "nvim" / "lua" / "diffill" / "config.lua").read_text()
README = (ROOT / "README.md").read_text()

# What runs, with what, and what it loads or writes.
CHOOSES_WHAT_RUNS = {
    "diffill.server.path", "diffill.server.pythonPath", "diffill.server.args", "diffill.server.env",
    "diffill.modelPath", "diffill.trustRemoteCode", "diffill.logFile", "diffill.acceptanceLog",
}


def test_settings_that_choose_what_runs_are_machine_scoped_and_restricted() -> None:
    for key in CHOOSES_WHAT_RUNS:
        assert SETTINGS[key].get("scope") in ("machine", "application"), key
    trust = PACKAGE["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    assert set(trust["restrictedConfigurations"]) == CHOOSES_WHAT_RUNS


def test_every_path_or_command_setting_is_in_the_list() -> None:
    """A new setting naming a path, a command or code must join the list above."""
    suspicious = re.compile(r"path|args|env|remote|file|log|command|cmd", re.IGNORECASE)
    reviewed = {"diffill.trace.server", "diffill.workspaceIndexMaxFiles"}  # a trace level, a count
    for key in SETTINGS:
        if suspicious.search(key.removeprefix("diffill.")) and key not in reviewed:
            assert key in CHOOSES_WHAT_RUNS, key


def test_when_suggestions_appear_has_the_same_names_in_both_clients_and_the_readme() -> None:
    trigger, debounce = SETTINGS["diffill.inline.trigger"], SETTINGS["diffill.inline.debounceMs"]
    assert trigger["enum"] == ["automatic", "manual"] and trigger["default"] == "automatic"
    assert re.search(r"trigger = 'automatic',", NVIM_CONFIG)
    assert re.search(rf"debounceMs = {debounce['default']},", NVIM_CONFIG)
    names = ("diffill.inline.trigger", "diffill.inline.debounceMs", "inline.trigger", "inline.debounceMs")
    for name in names:
        assert name in README, name


def test_accept_line_has_a_default_key() -> None:
    bound = {b["command"]: b["key"] for b in PACKAGE["contributes"]["keybindings"]}
    assert bound["editor.action.inlineSuggest.acceptNextLine"] == "alt+down"
    assert "accept_line = '<M-Down>'" in NVIM_CONFIG
