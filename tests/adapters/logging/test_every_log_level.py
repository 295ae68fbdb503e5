"""Every LOG_LEVEL the settings accept starts logging, loguru's own TRACE and SUCCESS too."""

import io
import logging

import pytest
from loguru import logger

from salesbot.adapters.logging import SecretMask, configure_logging

LEVELS = ["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]


@pytest.mark.parametrize("level", LEVELS)
def test_every_accepted_level_configures_logging(level):
    buffer = io.StringIO()
    configure_logging(level, stream=buffer, mask=SecretMask())
    logger.critical("still logging at {}", level)
    assert f"still logging at {level}" in buffer.getvalue()
    # Noisy libraries stay at WARNING or above whatever the level.
    assert logging.getLogger("httpx").level >= logging.WARNING
