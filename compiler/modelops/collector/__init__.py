"""`modelops collect`: the model servers' CloudEvents in, Hive-partitioned Parquet out (extra `collector`).

`events` reads an event, `spool` keeps it durable, `decode` turns it into the store's rows
(`modelops.columns`), `store` writes them, `writer` moves the spool to the store, `server` answers
HTTP and runs it all (`run`).
"""

from __future__ import annotations

import sys
import time


def log(line: str) -> None:
    """One line on stderr, with the UTC time (the collector's log)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stderr.write(f"{stamp} modelops collect: {line}\n")
    sys.stderr.flush()
