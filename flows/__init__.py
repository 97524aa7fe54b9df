"""newsmon's composition root: settings, the CLI, and the Prefect flows that wire extractors and storage together.

Public names are imported lazily (PEP 562): importing `flows` does not import Prefect or spaCy.
"""

import importlib
import os
from typing import Any

# Prefect defaults for machines without internet, applied before Prefect is imported: no telemetry, and a cold local
# server needs more than the default 20 s to start on 2 cores. Explicit environment settings win.
for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}.items():
    os.environ.setdefault(_name, _value)

_EXPORTS = {
    "Settings": "flows.settings",
    "app": "flows.cli",
    "get_settings": "flows.settings",
    "ingest": "flows.ingest",
    "ingest_flow": "flows.runners",
    "main": "flows.cli",
    "retag": "flows.retag",
    "send_digest": "flows.digest.flow",
    "serve_forever": "flows.serve",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
