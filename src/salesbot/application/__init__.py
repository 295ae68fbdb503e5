"""Use-cases (one per user intent) and the ports they need, as `typing.Protocol`s."""
