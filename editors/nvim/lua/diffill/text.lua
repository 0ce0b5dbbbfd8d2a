--- Pieces of a suggestion for partial accepts, and inserting text at the cursor.
local M = {}

--- Leading whitespace and one word (or one run of punctuation): what "accept word" takes.
---@param text string
---@return string
function M.next_word(text)
  return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+') or text
end

--- The rest of the current line; at a line break, the break and the next line.
---@param text string
---@return string
function M.next_line(text)
  local from = text:sub(1, 1) == '\n' and 2 or 1
  local nl = text:find('\n', from, true)
  return nl and text:sub(1, nl - 1) or text
end

--- Insert text at the cursor of the current window and leave the cursor after it.
---@param text string
function M.insert_at_cursor(text)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lines = vim.split(text, '\n', { plain = true })
  vim.api.nvim_buf_set_text(0, row - 1, col, row - 1, col, lines)
  local last = #lines == 1 and col + #lines[1] or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + #lines - 1, last })
end

--- The part of a suggestion not typed yet: an item may start before the cursor (its range
--- covers text already in the buffer); diffill's own items start at the cursor.
---@param text string the item's insert text
---@param start_row integer? 0-based row where the item starts (nil: at the cursor)
---@param start_col integer? 0-based byte column
---@return string
function M.untyped(text, start_row, start_col)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  if start_row ~= row - 1 or not start_col or start_col >= col then
    return text
  end
  local typed = vim.api.nvim_buf_get_text(0, row - 1, start_col, row - 1, col, {})[1]
  return vim.startswith(text, typed) and text:sub(#typed + 1) or text
end

return M
