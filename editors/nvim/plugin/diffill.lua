-- diffill's user commands. Nothing starts until require('diffill').setup() is called.
if vim.g.loaded_diffill then
  return
end
vim.g.loaded_diffill = true

vim.api.nvim_create_user_command('DiffillRewrite', function(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  -- From a charwise visual selection: exactly the selected characters; otherwise whole lines.
  local s, e = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  if opts.range == 2 and vim.fn.visualmode() == 'v' and s[2] == opts.line1 and e[2] == opts.line2 then
    local last = vim.api.nvim_buf_get_lines(bufnr, e[2] - 1, e[2], false)[1] or ''
    local end_col = math.min(e[3], #last) -- '> is the last selected byte (1-based), so exclusive end
    end_col = end_col + #vim.fn.strcharpart(last:sub(end_col), 0, 1) - 1
    require('diffill.commands').rewrite(bufnr, s[2] - 1, e[2] - 1, s[3] - 1, end_col)
  else
    require('diffill.commands').rewrite(bufnr, opts.line1 - 1, opts.line2 - 1)
  end
end, { range = true, desc = 'diffill: rewrite the range (default: the current line) with the model' })

vim.api.nvim_create_user_command('DiffillFill', function()
  require('diffill.commands').fill(vim.api.nvim_get_current_buf())
end, { desc = 'diffill: fill every <|fill|> marker in the buffer' })

vim.api.nvim_create_user_command('DiffillStatus', function()
  local lines = require('diffill.commands').status_lines(vim.api.nvim_get_current_buf())
  vim.api.nvim_echo({ { table.concat(lines, '\n') } }, true, {})
end, { desc = 'diffill: server state, settings and figures' })
