"""One module per `salesbot` sub-command: `add_arguments(parser)` and `main(args) -> int`.

Modules import their heavy dependencies inside `main`, so building the parser stays cheap.
"""
