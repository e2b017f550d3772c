"""The server's two loggers, set up once: messages, and the JSON-lines access log.

Neither propagates to the root logger, so a host application's logging set-up does not
duplicate or reformat their lines. No line holds a request's feature values.
"""

from __future__ import annotations

import logging
import sys

from server.settings import Settings

__all__ = ["ACCESS_LOGGER", "SERVER_LOGGER", "configure_logging"]

ACCESS_LOGGER = "deployml.access"
SERVER_LOGGER = "deployml.server"
_FORMATS = (
    (SERVER_LOGGER, "%(asctime)s %(levelname)s %(message)s"),
    (ACCESS_LOGGER, "%(message)s"),
)


def configure_logging(settings: Settings) -> None:
    """Send server messages and access lines to stderr at the configured level, once."""
    level = getattr(logging, settings.log_level.upper())
    for name, form in _FORMATS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter(form))
            logger.addHandler(handler)
