--- diffill's own ghost text for Neovim 0.11, which has no vim.lsp.inline_completion: the server's
--- textDocument/inlineCompletion answer drawn with extmarks at the cursor.
local notify = require('diffill.notify')
local text = require('diffill.text')

local api = vim.api
local M = {}

local ns = api.nvim_create_namespace('diffill.ghost')
M.namespace = ns

---@class diffill.GhostState
---@field client_id integer
---@field augroup integer
---@field timer uv.uv_timer_t
---@field request integer? pending request id
---@field items table[]? the server's items
---@field invoked boolean? the items answer an invoked request (all the candidates there are)
---@field index integer selected item
---@field text string? what is left to insert (shown as ghost text)
---@field row integer where the ghost text starts (0-based)
---@field col integer
---@field own_tick integer? changedtick after our own insert (a partial accept is not typing)

---@type table<integer, diffill.GhostState>
local buffers = {}

local function hide(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  end
end

local function draw(bufnr, s)
  hide(bufnr)
  if not s.text or s.text == '' then
    return
  end
  local hl = require('diffill.config').options.highlights.ghost
  local lines = vim.split(s.text, '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], hl } }
  end
  api.nvim_buf_set_extmark(bufnr, ns, s.row, s.col, {
    virt_text = { { lines[1], hl } },
    virt_text_pos = 'inline',
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = 'combine',
  })
end

local function cancel(bufnr, s)
  s.timer:stop()
  local client = vim.lsp.get_client_by_id(s.client_id)
  if s.request and client then
    client:cancel_request(s.request)
  end
  s.request = nil
end

local function forget(bufnr, s)
  cancel(bufnr, s)
  s.items, s.text, s.invoked = nil, nil, nil
  hide(bufnr)
end

--- Select item i and work out the part of it not typed yet.
local function select(bufnr, s, client, i)
  local item = s.items and s.items[i]
  if not item then
    return forget(bufnr, s)
  end
  s.index = i
  local insert = type(item.insertText) == 'string' and item.insertText or item.insertText.value
  local start_row, start_col
  if item.range then
    start_row = item.range.start.line
    local line = api.nvim_buf_get_lines(bufnr, start_row, start_row + 1, false)[1] or ''
    start_col = vim.str_byteindex(line, client.offset_encoding, item.range.start.character, false)
  end
  local row, col = unpack(api.nvim_win_get_cursor(0))
  s.text, s.row, s.col = text.untyped(insert, start_row, start_col), row - 1, col
  draw(bufnr, s)
end

local AUTOMATIC, INVOKED = 2, 1 -- InlineCompletionTriggerKind

--- Ask the server for items at the cursor; `kind` INVOKED asks for several candidates. Shows
--- item `index` of the answer (wrapping; default 1).
local function request(bufnr, s, kind, index)
  local client = vim.lsp.get_client_by_id(s.client_id)
  if not client or api.nvim_get_current_buf() ~= bufnr or not api.nvim_get_mode().mode:match('^i') then
    return
  end
  cancel(bufnr, s)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = kind }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local cursor = api.nvim_win_get_cursor(0)
  local ok, id = client:request('textDocument/inlineCompletion', params, function(err, result)
    s.request = nil
    if err then
      return notify.failure('inline suggestion', err)
    end
    local stale = api.nvim_buf_get_changedtick(bufnr) ~= tick
      or not vim.deep_equal(api.nvim_win_get_cursor(0), cursor)
    if stale or not result then
      return
    end
    s.items, s.invoked = result.items or result, kind == INVOKED
    if #s.items > 0 then
      select(bufnr, s, client, ((index or 1) - 1) % #s.items + 1)
    else
      forget(bufnr, s)
    end
  end, bufnr)
  s.request = ok and id or nil
end

--- Show ghost text in this buffer while typing (debounced requests to the client).
---@param bufnr integer
---@param client_id integer
function M.attach(bufnr, client_id)
  if buffers[bufnr] then
    return
  end
  local s = {
    client_id = client_id,
    augroup = api.nvim_create_augroup('diffill.ghost.' .. bufnr, { clear = true }),
    timer = assert(vim.uv.new_timer()),
    index = 1,
    row = 0,
    col = 0,
  }
  buffers[bufnr] = s
  local inline = require('diffill.config').options.inline
  local function schedule()
    s.timer:stop()
    if inline.trigger == 'manual' then
      return -- only M.trigger asks
    end
    s.timer:start(inline.debounceMs, 0, vim.schedule_wrap(function()
      request(bufnr, s, AUTOMATIC)
    end))
  end
  api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI' }, {
    group = s.augroup,
    buffer = bufnr,
    callback = function()
      if api.nvim_buf_get_changedtick(bufnr) ~= s.own_tick then
        forget(bufnr, s) -- the user typed: what is shown may no longer fit
      end
      schedule()
    end,
  })
  api.nvim_create_autocmd('CursorMovedI', {
    group = s.augroup,
    buffer = bufnr,
    callback = function()
      local row, col = unpack(api.nvim_win_get_cursor(0))
      if s.text and (row - 1 ~= s.row or col ~= s.col) then
        forget(bufnr, s)
        schedule()
      end
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = s.augroup,
    buffer = bufnr,
    callback = function()
      forget(bufnr, s)
    end,
  })
end

---@param bufnr integer
function M.detach(bufnr)
  local s = buffers[bufnr]
  if s then
    forget(bufnr, s)
    s.timer:close()
    pcall(api.nvim_del_augroup_by_id, s.augroup)
    buffers[bufnr] = nil
  end
end

--- Accept all of the shown suggestion (then run the item's command), or its next word or line
--- (the rest stays shown; the next request is answered from the server's last suggestion).
---@param kind 'all'|'word'|'line'
---@return boolean
function M.accept(kind)
  local bufnr = api.nvim_get_current_buf()
  local s = buffers[bufnr]
  if not s or not s.text or s.text == '' then
    return false
  end
  local item = s.items[s.index]
  local piece = kind == 'all' and s.text or kind == 'word' and text.next_word(s.text) or text.next_line(s.text)
  local rest = s.text:sub(#piece + 1)
  vim.schedule(function() -- not inside an <expr> mapping's textlock
    text.insert_at_cursor(piece)
    s.own_tick = api.nvim_buf_get_changedtick(bufnr)
    local row, col = unpack(api.nvim_win_get_cursor(0))
    s.text, s.row, s.col = rest, row - 1, col
    draw(bufnr, s)
    local client = vim.lsp.get_client_by_id(s.client_id)
    if rest == '' and item.command and client then
      client:exec_cmd(item.command, { bufnr = bufnr })
    end
  end)
  return true
end

--- Show the next (count > 0) or previous candidate. When the shown suggestion came from typing
--- (one candidate), ask the server for all of them (an invoked request) and show the next one.
---@param count integer
---@return boolean
function M.select(count)
  local bufnr = api.nvim_get_current_buf()
  local s = buffers[bufnr]
  local client = s and vim.lsp.get_client_by_id(s.client_id)
  if not s or not s.items or #s.items == 0 or not client then
    return false
  end
  if not s.invoked and #s.items == 1 then
    vim.schedule(function() -- not inside an <expr> mapping's textlock
      request(bufnr, s, INVOKED, 1 + count)
    end)
    return true
  end
  select(bufnr, s, client, (s.index - 1 + count) % #s.items + 1)
  return true
end

--- Ask for suggestions at the cursor now (an invoked request: several candidates).
---@return boolean false when diffill does not serve this buffer
function M.trigger()
  local bufnr = api.nvim_get_current_buf()
  local s = buffers[bufnr]
  if not s then
    return false
  end
  vim.schedule(function()
    request(bufnr, s, INVOKED, 1)
  end)
  return true
end

--- Whether ghost text is shown in the buffer (for tests and statuslines).
---@param bufnr integer?
---@return boolean
function M.visible(bufnr)
  local s = buffers[bufnr or api.nvim_get_current_buf()]
  return s ~= nil and s.text ~= nil and s.text ~= ''
end

return M
