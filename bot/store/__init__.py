"""Storage: the engines, every model, the migrations and the audit log. Knows no web and no dialogue."""
