--- Ghost text through Neovim's own `vim.lsp.inline_completion` (0.12+), with partial accepts.
local text = require('diffill.text')

local M = {}

--- Turn inline completion on for a buffer diffill attached to.
---@param bufnr integer
function M.attach(bufnr)
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
end

---@param bufnr integer
function M.detach(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
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

---@param count integer
---@return boolean
function M.select(count)
  vim.lsp.inline_completion.select({ count = count })
  return true
end

return M
