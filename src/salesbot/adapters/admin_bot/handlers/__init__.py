"""One module per group of admin commands; each handler parses, calls a use-case, formats."""
