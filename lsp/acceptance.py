"""Local acceptance log for the `diffill.accepted` command (an inline item's `command`).

The client runs the command after the user accepts a suggestion; one JSON line is appended
to the configured `acceptanceLog` file. Nothing leaves the machine. (The same command feeds
the workspace draft index, workspace.py; its `shown` argument is the server's own and is
not logged.)
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)
INTERNAL = frozenset({"shown"})  # command arguments that only the server uses


def record(path: str | None, event: Any) -> bool:
    """Append event (a JSON object) with a timestamp; False when logging is off or fails."""
    if not path:
        return False
    fields = {k: v for k, v in event.items() if k not in INTERNAL} if isinstance(event, dict) else {
        "event": event}
    line = {"time": round(time.time(), 3), **fields}
    try:
        with Path(path).expanduser().open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError as exc:
        log.warning("cannot write the acceptance log %s: %s", path, exc)
        return False
    return True


def accepted(session: Session, event: Any) -> bool:
    """The command: the suggestion becomes a draft, and a line in the log; whether either took it."""
    fed = session.drafts.accepted(event)
    return record(session.settings.acceptance_log, event) or fed
