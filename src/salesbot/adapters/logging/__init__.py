"""Logging through loguru, with every known secret masked before a line is written."""

from salesbot.adapters.logging.masking import SecretMask, secret_mask
from salesbot.adapters.logging.setup import configure_logging

__all__ = ["SecretMask", "configure_logging", "secret_mask"]
