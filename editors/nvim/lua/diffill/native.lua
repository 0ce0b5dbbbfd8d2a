--- Ghost text through Neovim's own `vim.lsp.inline_completion` (0.12+), with partial accepts,
--- cycling through all candidates and a key that asks now.
---
--- Inline completion is turned on for diffill's client only (`client_id` filter), never for other
--- servers attached to the same buffer. Neovim turns a capability off per buffer only through
--- the `bufnr` filter (which would reach every client), so detaching one buffer and asking for
--- candidates go through the per-buffer Completor (`vim.lsp._capability`), guarded: when that
--- internal changes, detaching falls back to Neovim's own clean-up and cycling to what is shown.
local text = require('diffill.text')

local api = vim.api
local M = {}

local INVOKED = 1 -- InlineCompletionTriggerKind

--- Neovim's inline-completion state for a buffer, if this Neovim has the one we know.
local function completor(bufnr)
  local ok, found = pcall(function()
    return vim.lsp._capability.all.inline_completion.active[bufnr]
  end)
  return ok and type(found) == 'table' and found.client_state and found or nil
end

--- Turn inline completion on for diffill's client (and so for this buffer it attached to).
---@param _ integer bufnr
---@param client_id integer
function M.attach(_, client_id) -- (bufnr, client_id): the same signature as ghost.lua
  vim.lsp.inline_completion.enable(true, { client_id = client_id })
end

---@param bufnr integer
---@param client_id integer
function M.detach(bufnr, client_id)
  local c = completor(bufnr)
  if c and c.client_state[client_id] then
    c:on_detach(client_id)
    if next(c.client_state) == nil then
      c:destroy()
    end
  end
end

--- Accept the whole suggestion ('all', which also runs the item's command) or its next
--- 'word' / 'line'; after a partial accept Neovim asks again and diffill answers with the rest
--- from its last suggestion (no new model run). False when no suggestion is shown.
---@param kind 'all'|'word'|'line'
---@return boolean
function M.accept(kind)
  if kind == 'all' then
    return vim.lsp.inline_completion.get()
  end
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      local insert = item.insert_text
      local full = type(insert) == 'string' and insert or insert.value
      local start = item.range and item.range.start
      local rest = text.untyped(full, start and start.row, start and start.col)
      local piece = kind == 'word' and text.next_word(rest) or text.next_line(rest)
      if piece ~= '' then
        text.insert_at_cursor(piece)
      end
    end,
  })
end

--- Ask diffill for every candidate at the cursor (an invoked request) and show item `index`.
local function invoke(bufnr, c, index)
  local client = vim.lsp.get_clients({ name = 'diffill', bufnr = bufnr })[1]
  if not client or not c.client_state[client.id] then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = INVOKED }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  client:request('textDocument/inlineCompletion', params, function(err, result)
    if err or not result or api.nvim_buf_get_changedtick(bufnr) ~= tick or not c.client_state[client.id] then
      return
    end
    local items = result.items or result
    if #items > 0 then
      c.client_state[client.id].items = items
      c:select((index - 1) % #items + 1, #items > 1)
    end
  end, bufnr)
end

--- Show the next (count > 0) or previous candidate. A suggestion that came from typing has one
--- candidate: then diffill is asked for all of them and the next one is shown.
---@param count integer
---@return boolean
function M.select(count)
  local bufnr = api.nvim_get_current_buf()
  local c = completor(bufnr)
  if c and c:count_items() <= 1 then
    vim.schedule(function()
      invoke(bufnr, c, 1 + count)
    end)
    return true
  end
  vim.lsp.inline_completion.select({ count = count })
  return true
end

--- Ask for suggestions at the cursor now (several candidates).
---@return boolean false when diffill does not serve this buffer
function M.trigger()
  local bufnr = api.nvim_get_current_buf()
  local c = completor(bufnr)
  if not c then
    return false
  end
  vim.schedule(function()
    invoke(bufnr, c, 1)
  end)
  return true
end

return M
