--- Ghost text in the buffers diffill attaches to: picks the engine and maps the accept keys.
local config = require('diffill.config')
local notify = require('diffill.notify')

local M = {}

---@return table engine module, string name
local function engine()
  local inline = config.options.inline
  local name = inline.engine
  local native = vim.lsp.inline_completion ~= nil
  -- Neovim's own engine always asks while typing: manual suggestions need the extmarks engine.
  local manual = inline.trigger == 'manual'
  if name == 'auto' then
    name = native and not manual and 'native' or 'extmarks'
  elseif name == 'native' and not native then
    notify.show('diffill: inline.engine = "native" needs Neovim 0.12; using extmarks', vim.log.levels.WARN)
    name = 'extmarks'
  elseif name == 'native' and manual then
    notify.show('diffill: inline.trigger = "manual" needs the extmarks engine; using it', vim.log.levels.WARN)
    name = 'extmarks'
  end
  return require(name == 'native' and 'diffill.native' or 'diffill.ghost'), name
end

--- Whether ghost text is shown in the buffer.
---@param bufnr integer?
---@return boolean
function M.visible(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local _, name = engine()
  if name == 'extmarks' then
    return require('diffill.ghost').visible(bufnr)
  end
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  return ns ~= nil and #vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

--- Accept the shown suggestion: 'all', the next 'word' or the next 'line'. False if none is shown.
---@param kind 'all'|'word'|'line'
---@return boolean
function M.accept(kind)
  return M.visible() and engine().accept(kind)
end

--- Show the next (count > 0) or previous candidate.
---@param count integer
---@return boolean
function M.select(count)
  return M.visible() and engine().select(count)
end

--- Ask for suggestions at the cursor now (several candidates). False when diffill does not
--- show ghost text in this buffer.
---@return boolean
function M.trigger()
  return vim.b.diffill_inline ~= nil and engine().trigger()
end

local ACTIONS = {
  accept = function() return M.accept('all') end,
  accept_word = function() return M.accept('word') end,
  accept_line = function() return M.accept('line') end,
  next = function() return M.select(1) end,
  prev = function() return M.select(-1) end,
  trigger = function() return M.trigger() end,
}

local function map_keys(bufnr)
  for action, lhs in pairs(config.options.keymaps) do
    if lhs and ACTIONS[action] then
      vim.keymap.set('i', lhs, function()
        return ACTIONS[action]() and '' or lhs -- no suggestion: the key does what it always does
      end, { buffer = bufnr, expr = true, desc = 'diffill: ' .. action:gsub('_', ' ') })
    end
  end
end

---@param bufnr integer
---@param client vim.lsp.Client
function M.attach(bufnr, client)
  if not config.options.inline.enabled then
    return
  end
  local eng, name = engine()
  eng.attach(bufnr, client.id)
  vim.b[bufnr].diffill_inline = name
  map_keys(bufnr)
end

---@param bufnr integer
---@param client_id integer
function M.detach(bufnr, client_id)
  local name = vim.b[bufnr].diffill_inline
  if name then
    require(name == 'native' and 'diffill.native' or 'diffill.ghost').detach(bufnr, client_id)
    vim.b[bufnr].diffill_inline = nil
  end
end

return M
