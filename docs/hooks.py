"""MkDocs hook: two kinds of messages that are not faults of the docs, kept out of the
warning count of ``mkdocs build --strict`` (everything else still fails the build).

- mkdocs-autorefs reads a doctest's printed list (``[0.5, 0.75]``) in a docstring as a
  cross-reference; a real reference target is a dotted Python name, which such text is not.
- griffe's Google-style parser expects one ``name: description`` per line under ``Args:``;
  xpnet's Keras-style docstrings list related arguments together on one line
  (``kernel_initializer, bias_initializer, ...: as Dense``).
"""

from __future__ import annotations

import logging
import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$")
_TARGET = re.compile(r"Could not find cross-reference target '(.*)'$")


class _NotDocFaults(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        ref = _TARGET.search(message)
        if ref and not _IDENTIFIER.match(ref.group(1)):
            return False
        return "Failed to get 'name: description' pair" not in message


def on_config(config, **kwargs):
    # the strict-mode counter is a handler of the "mkdocs" logger, added before on_config
    for handler in logging.getLogger("mkdocs").handlers:
        if not any(isinstance(f, _NotDocFaults) for f in handler.filters):
            handler.addFilter(_NotDocFaults())
    return config
