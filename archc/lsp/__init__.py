"""The language server (`archc lsp`): diagnostics, hover, inlay hints, navigation, completion
and formatting for *.arch files in any LSP editor.

Built on the pipeline (`archc.lint`, `archc.fmt`, the layer registry); nothing in the pipeline
imports this package, and `archc.lsp.server` (which imports pygls) loads only for `archc lsp`.
"""
