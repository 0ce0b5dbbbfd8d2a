--- Messages to the user: an error or warning is shown once per text; cancellations never.
local M = {}

local shown = {} ---@type table<string, true>

--- LSP error codes that mean "cancelled" (RequestCancelled, ServerCancelled, ContentModified).
local CANCELLED = { [-32800] = true, [-32802] = true, [-32801] = true }

---@param err table? an LSP ResponseError
---@return boolean
function M.is_cancellation(err)
  return err ~= nil and CANCELLED[err.code] == true
end

--- Show a message; errors and warnings only the first time this exact text comes up.
---@param message string
---@param level integer? vim.log.levels (default INFO)
function M.show(message, level)
  level = level or vim.log.levels.INFO
  if level >= vim.log.levels.WARN then
    if shown[message] then
      return
    end
    shown[message] = true
  end
  vim.notify(message, level, { title = 'diffill' })
end

--- A failed request: nothing for a cancellation, else the error once.
---@param what string
---@param err table
function M.failure(what, err)
  if not M.is_cancellation(err) then
    M.show(('diffill: %s failed: %s'):format(what, err.message or vim.inspect(err)), vim.log.levels.ERROR)
  end
end

--- Forget what was shown (a restarted server may have new trouble to tell).
function M.reset()
  shown = {}
end

return M
