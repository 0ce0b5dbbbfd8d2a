--- The language server: `vim.lsp.config` / `vim.lsp.enable`, `diffill/status`, settings changes.
local config = require('diffill.config')
local inline = require('diffill.inline')
local notify = require('diffill.notify')

local M = {}

--- Last `diffill/status` per client: { state = 'loading'|'ready'|'busy'|'error'|'stopped', message = string? }
---@type table<integer, { state: string, message: string? }>
M.states = {}

--- The settings as JSON wants them: an empty table must go out as an object, not a list.
local function settings_json(settings)
  return next(settings) and settings or vim.empty_dict()
end

--- A statusline is drawn only when something redraws it: redraw every window's statusline (and
--- winbar) on each change, or it keeps showing 'starting' until the next keystroke.
local function redraw_statuslines()
  pcall(vim.cmd.redrawstatus, { bang = true })
end

local function on_status(_, result, ctx)
  M.states[ctx.client_id] = { state = result.state, message = result.message }
  vim.api.nvim_exec_autocmds('User', { pattern = 'DiffillStatus', data = result, modeline = false })
  redraw_statuslines()
end

--- The server's window/showMessage, with each error or warning shown only once.
local function on_show_message(_, result)
  local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
  notify.show(result.message, levels[result.type] or vim.log.levels.INFO)
end

--- The diffill client attached to a buffer, if any.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.client(bufnr)
  return vim.lsp.get_clients({ name = 'diffill', bufnr = bufnr or vim.api.nvim_get_current_buf() })[1]
end

--- For a statusline: "diffill: ready" (or starting, loading, busy, error, stopped); '' when not attached.
---@param bufnr integer?
---@return string
function M.statusline(bufnr)
  local client = M.client(bufnr)
  local state = client and M.states[client.id]
  return client and ('diffill: ' .. (state and state.state or 'starting')) or ''
end

---@param opts diffill.Config
function M.setup(opts)
  local exe = opts.cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    notify.show(('diffill: cannot start the server: %q is not executable. Set `cmd` in '
      .. "require('diffill').setup{} (see :help diffill-setup)."):format(exe), vim.log.levels.ERROR)
    return
  end
  vim.lsp.config('diffill', {
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes,
    -- Only buffers backed by a file; a project root when there is one.
    root_dir = function(bufnr, on_dir)
      local name = vim.api.nvim_buf_get_name(bufnr)
      if name ~= '' and vim.bo[bufnr].buftype == '' then
        on_dir(vim.fs.root(bufnr, opts.root_markers) or vim.fs.dirname(name))
      end
    end,
    -- One server (one model in memory) for every project.
    reuse_client = function(client, config)
      return client.name == config.name
    end,
    init_options = settings_json(opts.settings),
    settings = { diffill = settings_json(opts.settings) },
    handlers = { ['diffill/status'] = on_status, ['window/showMessage'] = on_show_message },
    on_exit = function(_, _, client_id)
      M.states[client_id] = { state = 'stopped' }
      vim.schedule(redraw_statuslines)
    end,
  })
  local group = vim.api.nvim_create_augroup('diffill.lsp', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'diffill' then
        inline.attach(args.buf, client)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == 'diffill' then
        inline.detach(args.buf, client.id)
      end
    end,
  })
  vim.lsp.enable('diffill')
  -- Running servers (setup called again) get the new settings; the server merges them.
  for _, client in ipairs(vim.lsp.get_clients({ name = 'diffill' })) do
    client:notify('workspace/didChangeConfiguration', { settings = { diffill = settings_json(opts.settings) } })
  end
end

return M
