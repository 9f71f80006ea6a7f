-- archc for Neovim (0.10+): put this in your init.lua (or require it from there).
-- Filetype, then the language server on every *.arch buffer.
vim.filetype.add({ extension = { arch = "arch" } })

vim.api.nvim_create_autocmd("FileType", {
  pattern = "arch",
  callback = function(event)
    vim.bo[event.buf].commentstring = "# %s"
    vim.lsp.start({
      name = "archc",
      cmd = { "archc", "lsp" },
      root_dir = vim.fs.root(event.buf, { "pyproject.toml", ".git" }),
      init_options = { inlayHints = true },
    })
    -- shapes at line ends (Neovim 0.10+)
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = event.buf })
  end,
})
