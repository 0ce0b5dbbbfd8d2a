--- diffill for Neovim. `require('diffill').setup(opts)` wires the language server, ghost text and
--- keys; the work is in config.lua (defaults), lsp.lua, inline.lua and commands.lua.
local M = {}

---@param opts? table any subset of require('diffill.config').defaults
function M.setup(opts)
  local config = require('diffill.config')
  config.options = config.merge(opts)
  require('diffill.lsp').setup(config.options)
end

return M
