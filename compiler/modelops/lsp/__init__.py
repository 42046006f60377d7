"""`modelops lsp`: a language server for model files and modelops.yaml (extra `lsp`: pygls).

`workspace` keeps a repository's diagnostics as the editor's buffers change (no pygls), `context`
and `schema` find where the cursor is and what the JSON Schema says of it, `assist` turns that into
hovers and completions, and `server` is the pygls glue between them and the editor.
"""
