--- What the user commands do: :DiffillRewrite, :DiffillFill, :DiffillStatus.
local config = require('diffill.config')
local lsp = require('diffill.lsp')
local notify = require('diffill.notify')

local api = vim.api
local M = {}

local HOLE_MARKER = '<|fill|>'
local flash_ns = api.nvim_create_namespace('diffill.rewritten')

local function attached_client(bufnr)
  local client = lsp.client(bufnr)
  if not client then
    notify.show('diffill: not attached to this buffer (see :DiffillStatus)', vim.log.levels.WARN)
  end
  return client
end

--- An LSP position for a 0-based row and byte column, in the client's encoding.
local function position(bufnr, row, col, encoding)
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  return { line = row, character = vim.str_utfindex(line, encoding, math.min(col, #line), false) }
end

--- Highlight the text an edit put at `range.start` for a moment.
local function flash(bufnr, start_row, start_col, new_text)
  local lines = vim.split(new_text, '\n', { plain = true })
  local end_row = start_row + #lines - 1
  local end_col = #lines == 1 and start_col + #lines[1] or #lines[#lines]
  api.nvim_buf_set_extmark(bufnr, flash_ns, start_row, start_col, {
    end_row = end_row, end_col = end_col, hl_group = config.options.highlights.rewritten,
  })
  vim.defer_fn(function()
    if api.nvim_buf_is_valid(bufnr) then
      api.nvim_buf_clear_namespace(bufnr, flash_ns, 0, -1)
    end
  end, 1500)
  return end_row
end

--- Rewrite rows [first, last] (0-based, whole lines), or from (first, first_col) to (last, last_col)
--- (byte columns, end exclusive), with the model's best alternative (`diffill/rewriteRange`).
--- The new text is highlighted for a moment; `u` takes it back.
---@param bufnr integer
---@param first integer
---@param last integer
---@param first_col integer?
---@param last_col integer?
function M.rewrite(bufnr, first, last, first_col, last_col)
  local client = attached_client(bufnr)
  if not client then
    return
  end
  local enc = client.offset_encoding
  local last_line = api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or ''
  local version = vim.lsp.util.buf_versions[bufnr]
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr), version = version },
    range = {
      start = position(bufnr, first, first_col or 0, enc),
      ['end'] = position(bufnr, last, last_col or #last_line, enc),
    },
    n = 1,
  }
  notify.show(('diffill: rewriting lines %d-%d…'):format(first + 1, last + 1))
  client:request('diffill/rewriteRange', params, function(err, result)
    if err then
      return notify.failure('rewrite', err)
    end
    local edit = result and result.edits[1]
    if not edit then
      local state = (lsp.states[client.id] or {}).state
      local why = state == 'loading' and 'the model is still loading' or 'the model found nothing to offer'
      return notify.show(('diffill: no rewrite for lines %d-%d (%s)'):format(first + 1, last + 1, why))
    end
    if result.version ~= vim.lsp.util.buf_versions[bufnr] then
      return notify.show('diffill: the buffer changed during the rewrite; run it again')
    end
    vim.lsp.util.apply_text_edits({ { range = edit.range, newText = edit.newText } }, bufnr, enc)
    local row = edit.range.start.line
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local col = vim.str_byteindex(line, enc, edit.range.start.character, false)
    local end_row = flash(bufnr, row, col, edit.newText)
    local caveat = edit.syntaxOk and '' or ' (it parses worse than before)'
    notify.show(('diffill: rewrote lines %d-%d%s; u undoes it'):format(row + 1, end_row + 1, caveat))
    vim.b[bufnr].diffill_last_rewrite = edit
  end, bufnr)
end

--- Fill every `<|fill|>` marker in the buffer; the server applies the edits (workspace/applyEdit).
---@param bufnr integer
function M.fill(bufnr)
  local client = attached_client(bufnr)
  if not client then
    return
  end
  local text = table.concat(api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
  local _, holes = text:gsub(vim.pesc(HOLE_MARKER), '')
  if holes == 0 then
    return notify.show(('diffill: no %s markers in this buffer'):format(HOLE_MARKER))
  end
  notify.show(('diffill: filling %d hole%s…'):format(holes, holes > 1 and 's' or ''))
  local command = { title = 'Fill diffill holes', command = 'diffill.fillHoles',
    arguments = { vim.uri_from_bufnr(bufnr), vim.lsp.util.buf_versions[bufnr] } }
  client:exec_cmd(command, { bufnr = bufnr }, function(err, applied)
    if err then
      return notify.failure('fill holes', err)
    end
    if applied ~= true then
      notify.show('diffill: the holes were not filled (the buffer changed, or the model is not ready yet)')
    end
  end)
end

--- Lines describing the server and this buffer, for :DiffillStatus.
---@param bufnr integer
---@return string[]
function M.status_lines(bufnr)
  local client = lsp.client(bufnr)
  local lines = {}
  if not client then
    local any = vim.lsp.get_clients({ name = 'diffill' })[1]
    lines[#lines + 1] = 'diffill: not attached to this buffer'
      .. (any and (' (server %d runs for other buffers)'):format(any.id) or ' (no server running)')
    lines[#lines + 1] = 'cmd: ' .. table.concat(config.options.cmd, ' ')
    return lines
  end
  local state = lsp.states[client.id] or { state = 'starting' }
  lines[#lines + 1] = ('diffill: %s%s'):format(state.state, state.message and (' (' .. state.message .. ')') or '')
  lines[#lines + 1] = ('client %d, cmd: %s'):format(client.id, table.concat(client.config.cmd, ' '))
  lines[#lines + 1] = ('positions: %s; ghost text: %s'):format(client.offset_encoding,
    vim.b[bufnr].diffill_inline or 'off')
  lines[#lines + 1] = 'settings: ' .. vim.json.encode(client.config.init_options or vim.empty_dict())
  local reply = client:request_sync('diffill/stats', {}, 2000, bufnr)
  if reply and reply.result then
    local s = reply.result
    local figures = 'fills %d, cancelled %d, from last suggestion %d; engine p50 %.0f ms, p95 %.0f ms; RSS %.0f MB'
    lines[#lines + 1] = figures:format(s.fills, s.cancelled, s.continued, s.engineMsP50, s.engineMsP95, s.rssMb)
  end
  return lines
end

return M
