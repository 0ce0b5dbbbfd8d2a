--- :checkhealth diffill
local M = {}

function M.check()
  local health = vim.health
  health.start('diffill')
  local v = vim.version()
  if vim.fn.has('nvim-0.11') ~= 1 then
    health.error(('Neovim %d.%d: diffill needs 0.11 or newer'):format(v.major, v.minor))
  elseif vim.lsp.inline_completion then
    health.ok(('Neovim %d.%d: ghost text through vim.lsp.inline_completion'):format(v.major, v.minor))
  else
    health.ok(('Neovim %d.%d: ghost text drawn by diffill (extmarks)'):format(v.major, v.minor))
  end
  local opts = require('diffill.config').options
  if vim.fn.executable(opts.cmd[1]) == 1 then
    health.ok('server command: ' .. table.concat(opts.cmd, ' '))
  else
    health.error(('%q is not executable'):format(opts.cmd[1]),
      { "pip install /path/to/diffill (a checkout), or set cmd in require('diffill').setup{} (:help diffill-setup)" })
  end
  local clients = vim.lsp.get_clients({ name = 'diffill' })
  if #clients == 0 then
    health.info('no diffill server is running (open a file after setup())')
  end
  for _, client in ipairs(clients) do
    local state = require('diffill.lsp').states[client.id] or { state = 'starting' }
    local report = state.state == 'error' and health.error or health.ok
    report(('server %d: %s%s'):format(client.id, state.state, state.message and (' (' .. state.message .. ')') or ''))
  end
end

return M
