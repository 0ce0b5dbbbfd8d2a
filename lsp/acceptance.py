"""Local acceptance log for the `diffill.accepted` command (an inline item's `command`).

The client runs the command after the user accepts a suggestion; one JSON line is appended
to the configured `acceptanceLog` file. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def record(path: str | None, event: Any) -> bool:
    """Append event (a JSON object) with a timestamp; False when logging is off or fails."""
    if not path:
        return False
    line = {"time": round(time.time(), 3), **(event if isinstance(event, dict) else {"event": event})}
    try:
        with Path(path).expanduser().open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError as exc:
        log.warning("cannot write the acceptance log %s: %s", path, exc)
        return False
    return True
