"""Running a request in the engine thread, its budget kept inside the model's canvas.

The requests themselves come from `diffill.infill.requests` (the one builder the CLI, the
hole markers and eval use too), with `Settings.fill_settings()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diffill.infill.api import FillRequest, FillResult, StopSignal
from diffill.infill.requests import fit

if TYPE_CHECKING:  # the engine pulls in the model; it is loaded in the background
    from diffill.infill.engine import InfillEngine


def fill(engine: InfillEngine, req: FillRequest, stop: StopSignal) -> FillResult:
    return engine.fill(fit(req, engine.denoiser.max_canvas), stop)
