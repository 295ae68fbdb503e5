"""Pure entities, value objects and policies. Standard library only: no I/O, no asyncio."""
