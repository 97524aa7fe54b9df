"""newsmon's composition root: settings, the CLI, and the Prefect flows that wire extractors and storage together.

The HTTP client (`flows.fetch`), the digest (`flows.digest`) and the command line (`flows.cli`) are packages; the ingest
flow's modules sit here (docs/architecture.md). Import from the module that owns a name: this package only sets
Prefect's defaults, so importing `flows.settings` does not import Prefect or spaCy.
"""

import os

# Prefect defaults for machines without internet, applied before Prefect is imported: no telemetry, and a cold local
# server needs more than the default 20 s to start on 2 cores. Explicit environment settings win.
for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}.items():
    os.environ.setdefault(_name, _value)
