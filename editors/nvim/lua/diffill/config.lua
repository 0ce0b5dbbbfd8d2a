--- Annotated defaults, merged with the user's options by `require('diffill').setup(opts)`.
local M = {}

---@class diffill.Config
M.defaults = {
  -- How to start the language server (stdio). With a virtualenv:
  -- { '/path/to/.venv/bin/python', '-m', 'diffill.lsp.cli', 'serve' }
  cmd = { 'diffill', 'serve' },
  -- Extra environment for the server, e.g. { DIFFILL_THREADS = '2' } (torch threads).
  ---@type table<string, string>?
  cmd_env = nil,
  -- Filetypes to attach to; nil attaches to every file buffer (the server still answers only
  -- for `settings.enabledLanguages`).
  ---@type string[]?
  filetypes = nil,
  -- Files that mark a project root (the server works without one too).
  root_markers = { '.git', 'pyproject.toml', 'setup.py', 'package.json', 'Cargo.toml', 'go.mod' },
  -- The server's settings: the same camelCase keys as in VS Code and the README, sent as
  -- initializationOptions and, when `setup()` runs again, with workspace/didChangeConfiguration.
  -- Empty: the server's defaults. Example: { deadlineMs = 1500, sampler = { threshold = 0.5 } }
  settings = {},
  inline = {
    -- Show suggestions as ghost text while typing.
    enabled = true,
    -- 'auto': vim.lsp.inline_completion on Neovim 0.12+, diffill's own extmark ghost text on 0.11.
    -- 'native' or 'extmarks' force one of them.
    ---@type 'auto'|'native'|'extmarks'
    engine = 'auto',
    -- Extmark engine only: wait this long after the last keystroke before asking the server.
    debounce_ms = 150,
  },
  -- Insert-mode keys in buffers diffill is attached to; false leaves a key unmapped. Each falls
  -- back to the key's normal meaning when no suggestion is shown.
  keymaps = {
    accept = '<Tab>', -- the whole suggestion
    accept_word = '<M-Right>', -- the next word
    accept_line = '<M-Down>', -- the rest of the line (or the next line)
    next = '<M-]>', -- cycle through candidates
    prev = '<M-[>',
  },
  -- Highlight of the ghost text (extmark engine) and of a rewritten range for a moment.
  highlights = { ghost = 'Comment', rewritten = 'DiffText' },
}

---@param opts? table user options (any subset of the defaults)
---@return diffill.Config
function M.merge(opts)
  return vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
end

--- The settings currently in effect (set by `setup`).
---@type diffill.Config
M.options = M.merge()

return M
