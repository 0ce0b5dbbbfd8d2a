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
    -- Show suggestions as ghost text.
    enabled = true,
    -- When they are computed: 'automatic' while typing, 'manual' only on `keymaps.trigger`
    -- (the same setting as VS Code's diffill.inline.trigger).
    ---@type 'automatic'|'manual'
    trigger = 'automatic',
    -- Automatic suggestions: wait this long after the last keystroke before asking the server
    -- (VS Code: diffill.inline.debounceMs). The native engine has Neovim's own (200 ms).
    debounceMs = 150,
    -- 'auto': vim.lsp.inline_completion on Neovim 0.12+ (with trigger = 'automatic'), diffill's
    -- own extmark ghost text on 0.11 or with trigger = 'manual'. 'native' or 'extmarks' force one.
    ---@type 'auto'|'native'|'extmarks'
    engine = 'auto',
  },
  -- Insert-mode keys in buffers diffill is attached to; false leaves a key unmapped. Each falls
  -- back to the key's normal meaning when no suggestion is shown.
  keymaps = {
    accept = '<Tab>', -- the whole suggestion
    accept_word = '<M-Right>', -- the next word
    accept_line = '<M-Down>', -- the rest of the line (or the next line)
    next = '<M-]>', -- cycle through candidates (asks the server for more when only one is shown)
    prev = '<M-[>',
    trigger = '<M-\\>', -- ask for a suggestion now (with trigger = 'manual': the only way)
  },
  -- Highlight of the ghost text (extmark engine) and of a rewritten range for a moment.
  highlights = { ghost = 'Comment', rewritten = 'DiffText' },
}

---@param opts? table user options (any subset of the defaults)
---@return diffill.Config
function M.merge(opts)
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local old = opts and opts.inline and opts.inline.debounce_ms -- the name before 0.1.0
  if old ~= nil and (opts.inline.debounceMs == nil) then
    merged.inline.debounceMs = old
  end
  merged.inline.debounce_ms = nil
  return merged
end

--- The settings currently in effect (set by `setup`).
---@type diffill.Config
M.options = M.merge()

return M
