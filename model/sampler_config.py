"""The sampler's settings: one dataclass, one default per field, free of torch.

Everything above derives from this: `infill.api` re-exports it, `diffill fill` and friends
build their flags from its fields (`infill.cli.add_sampler_options`), the server's `sampler`
settings object is this dataclass (camelCase keys), and a test checks the editors' defaults
and the README's table against it. Self-sampling denoisers (DiffusionGemma, Dream) get the
same object and read the fields that apply to their own loop.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from typing import Any

COMMIT_RULES = ("confidence", "margin", "entropy")


def knob(default: Any, help: str, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, hi_open: bool = False, choices: tuple[str, ...] = ()) -> Any:
    """A field with its help text and valid range (read by the CLI and the server checks)."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SamplerConfig:
    # How open slots are scored each step.
    rule: str = knob("confidence", "how open slots are scored: confidence | margin | entropy",
                     choices=COMMIT_RULES)
    # Open slots scoring at least this commit together; at least one per step (above 1: one).
    # 0.7: the GPU-trained model alone writes 0.157 of development single-line holes exactly
    # against 0.110 at 0.3, for 6.0 forward passes a hole instead of 4.6 (docs/BENCHMARKS.md).
    threshold: float = knob(0.7, "commit every open slot scoring at least this (at least one per step; "
                            "above 1: exactly one)", 0.0)
    # 0 is greedy argmax; above 0 samples (several candidates sample anyway).
    temperature: float = knob(0.0, "0: greedy; above 0 samples", 0.0, 10.0)
    # Nucleus size when sampling.
    top_p: float = knob(1.0, "nucleus size when sampling", 0.0, 1.0, lo_open=True)
    # Committed slots whose probability later falls below this are masked again; 0: off.
    remask_below: float = knob(0.0, "re-mask committed slots whose probability falls below this (0: off)",
                               0.0, 1.0, hi_open=True)
    # At most this many re-masks per request.
    max_remasks: int = knob(8, "re-masks per request at most", 0, 4096)
    # Forward passes per canvas at most: each step commits >= open slots / steps left.
    max_steps: int = knob(64, "forward passes per canvas at most (each step commits >= open slots / "
                          "steps left)", 1, 4096)
    # A one-line hole's own line stops here: at the default threshold a few holes commit one
    # slot a pass; development exact match is the same with 8 as with 64 (docs/BENCHMARKS.md).
    line_max_steps: int = knob(8, "forward passes at most for the denoiser's own line in a one-line "
                               "hole (max_steps still applies)", 1, 4096)
    # Once the last slot is confidently null, the whole predicted null run commits at once.
    null_tail: bool = knob(True, "commit the predicted run of end-of-fill nulls at once")
    # One step never commits the same token in two adjacent slots (the less sure one waits).
    stutter_guard: bool = knob(True, "never commit the same token in two adjacent slots in one step")
    # Steps between full forward passes; in between a step recomputes only the open hole slots
    # and those committed since their last computation, against the cached keys and values of
    # everything else (Fast-dLLM DualCache, dKV-Cache). 1: no cache. 8 (a one-line fill never
    # refreshes): model-alone exact on held-out repositories 0.149 as with no reuse, dev -0.4
    # points; CPU p50 per fill 203 -> 104 ms with the reused scoring pass (docs/BENCHMARKS.md).
    refresh_every: int = knob(8, "forward passes between full recomputations of the fixed tokens' "
                              "keys and values (1: no cache)", 1, 4096)
    # Sampling seed: results are deterministic under a seed.
    seed: int = knob(0, "sampling seed")


def sampler_fields() -> tuple[Field[Any], ...]:
    return fields(SamplerConfig)


def camel(name: str) -> str:
    """snake_case field name -> the camelCase key of JSON settings."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def problems(cfg: SamplerConfig) -> list[tuple[str, str]]:
    """(field name, what it must be) for every value out of its range."""
    out: list[tuple[str, str]] = []
    for f in sampler_fields():
        value, m = getattr(cfg, f.name), f.metadata
        if m["choices"]:
            if value not in m["choices"]:
                out.append((f.name, f"one of {', '.join(m['choices'])}"))
            continue
        lo, hi = m["lo"], m["hi"]
        if lo is None and hi is None:
            continue
        below = lo is not None and (value <= lo if m["lo_open"] else value < lo)
        above = hi is not None and (value >= hi if m["hi_open"] else value > hi)
        if below or above:
            words = [f"{'above' if m['lo_open'] else 'at least'} {lo}"] if lo is not None else []
            words += [f"{'below' if m['hi_open'] else 'at most'} {hi}"] if hi is not None else []
            out.append((f.name, " and ".join(words)))
    return out
