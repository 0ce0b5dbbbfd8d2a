"""Settings from `initializationOptions` and `workspace/didChangeConfiguration`.

JSON keys are camelCase (the same keys in every editor and the docs); the dataclasses are
snake_case and converted field by field. A bad value never stops the server: it is reported
(the server shows a `window/showMessage`) and that field keeps its previous value.
"""

from __future__ import annotations

import dataclasses
import types as pytypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin, get_type_hints

from diffill.infill.api import DRAFT_POLICIES, SamplerConfig
from diffill.infill.requests import FillSettings
from diffill.model.sampler_config import camel, problems

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "fp32", "bf16", "fp16")
QUANTIZATIONS = (None, "4bit", "8bit")


@dataclass(frozen=True)
class Settings:
    model_path: str | None = None  # checkpoint folder; None: the shipped default model
    device: str = "auto"  # auto | cpu | cuda | mps
    dtype: str = "auto"  # auto | fp32 | bf16 | fp16
    trust_remote_code: bool = False  # run model code shipped with the checkpoint (Dream, LLaDA)
    quantization: str | None = None  # None | "4bit" | "8bit" (needs bitsandbytes)
    deadline_ms: int = 2000  # per suggestion the user asked for, queueing included; then empty
    typing_deadline_ms: int = 150  # per suggestion asked for while typing; an unfinished fill gives way
    rewrite_deadline_ms: int = 10000  # per rewrite or hole fill (the user asked and waits for it)
    line_budget: int | None = None  # hole slots for one-line holes; None: the checkpoint's default
    block_budget: int | None = None  # hole slots per canvas for block holes; None: checkpoint default
    sampler: SamplerConfig = field(default_factory=SamplerConfig)  # the one sampler config, camelCase keys
    candidates: int = 3  # suggestions for invoked requests and completion lists
    enabled_languages: list[str] = field(default_factory=lambda: ["*"])  # LSP languageIds; "*": all
    log_file: str | None = None  # also log there (logs never go to stdout)
    acceptance_log: str | None = None  # append a JSON line per accepted suggestion; None: off
    workspace_index: bool = True  # drafts from other open documents, workspace files, acceptances
    workspace_index_max_files: int = 2000  # workspace files the background scan reads at most
    draft_policy: str = "prefer"  # off | prefer | score | verify (see FillRequest.draft_policy)
    rewrite_strength: float = 1.0  # share of a rewritten range regenerated (0 keep, 1 from scratch)
    min_confidence: float | None = None  # show suggestions at least this sure; None: the ranker's own

    def model_key(self) -> tuple[str | None, str, str, bool, str | None]:
        """What a loaded model depends on: a change means a reload."""
        return (self.model_path, self.device, self.dtype, self.trust_remote_code, self.quantization)

    def enabled_for(self, language_id: str) -> bool:
        return "*" in self.enabled_languages or language_id in self.enabled_languages

    def fill_settings(self) -> FillSettings:
        """What requests take from these settings (diffill.infill.requests builds them)."""
        return FillSettings(candidates=self.candidates, draft_policy=self.draft_policy,
                            sampler=self.sampler, min_confidence=self.min_confidence,
                            line_budget=self.line_budget, block_budget=self.block_budget,
                            strength=self.rewrite_strength)


def type_ok(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a field type (bool is not a number here)."""
    origin = get_origin(hint)
    if origin in (Union, pytypes.UnionType):
        return any(type_ok(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(type_ok(v, item) for v in value)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def as_mapping(raw: Any) -> Any:
    """JSON objects may arrive as namedtuples (pygls converts unknown params): back to dicts."""
    if hasattr(raw, "_asdict"):
        return {k: as_mapping(v) for k, v in raw._asdict().items()}
    if isinstance(raw, Mapping):
        return {k: as_mapping(v) for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return [as_mapping(v) for v in raw]
    return raw


def merge(cls: type[Any], base: Any, raw: Any, path: str, errors: list[str]) -> Any:
    """Base updated with the camelCase keys present in raw; bad keys are reported and skipped."""
    if not isinstance(raw, Mapping):
        errors.append(f"{path or 'settings'} must be an object")
        return base
    hints = get_type_hints(cls)
    known = {camel(f.name): f.name for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        name = known.get(key)
        if name is None:
            errors.append(f"unknown setting {path}{key}")
            continue
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            changes[name] = merge(hint, getattr(base, name), value, f"{path}{key}.", errors)
        elif type_ok(value, hint):
            changes[name] = float(value) if hint is float else value
        else:
            errors.append(f"{path}{key}: {value!r} is not a valid value")
    return dataclasses.replace(base, **changes)


def check(s: Settings) -> list[tuple[str, str]]:
    """(camelCase key, problem) for values of the right type but out of range."""
    p: list[tuple[str, str]] = []
    rules: list[tuple[bool, str, str]] = [
        (s.device.split(":")[0] in DEVICES, "device", f"one of {', '.join(DEVICES)}"),
        (s.dtype in DTYPES, "dtype", f"one of {', '.join(DTYPES)}"),
        (s.quantization in QUANTIZATIONS, "quantization", "null, \"4bit\" or \"8bit\""),
        (1 <= s.deadline_ms <= 600_000, "deadlineMs", "between 1 and 600000"),
        (1 <= s.typing_deadline_ms <= 600_000, "typingDeadlineMs", "between 1 and 600000"),
        (1 <= s.rewrite_deadline_ms <= 600_000, "rewriteDeadlineMs", "between 1 and 600000"),
        (s.line_budget is None or 1 <= s.line_budget <= 256, "lineBudget", "between 1 and 256"),
        (s.block_budget is None or 1 <= s.block_budget <= 256, "blockBudget", "between 1 and 256"),
        (1 <= s.candidates <= 8, "candidates", "between 1 and 8"),
        (0 <= s.workspace_index_max_files <= 100_000, "workspaceIndexMaxFiles", "between 0 and 100000"),
        (s.draft_policy in DRAFT_POLICIES, "draftPolicy", f"one of {', '.join(DRAFT_POLICIES)}"),
        (0.0 <= s.rewrite_strength <= 1.0, "rewriteStrength", "between 0 and 1"),
        (s.min_confidence is None or 0.0 <= s.min_confidence <= 1.0, "minConfidence", "between 0 and 1"),
    ]
    for ok, key, want in rules:
        if not ok:
            p.append((key, f"must be {want}"))
    # The sampler's ranges live with its fields (diffill.model.sampler_config).
    p += [(f"sampler.{camel(name)}", f"must be {want}") for name, want in problems(s.sampler)]
    return p


def reset(s: Settings, key: str, previous: Settings) -> Settings:
    """S with the field named by a (dotted) camelCase key taken from previous."""
    if key.startswith("sampler."):
        name = {camel(f.name): f.name for f in dataclasses.fields(SamplerConfig)}[key[8:]]
        sampler = dataclasses.replace(s.sampler, **{name: getattr(previous.sampler, name)})
        return dataclasses.replace(s, sampler=sampler)
    name = {camel(f.name): f.name for f in dataclasses.fields(Settings)}[key]
    return dataclasses.replace(s, **{name: getattr(previous, name)})


def load_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from a JSON object (None: no change) merged onto base; plus problems found.

    Accepts the settings themselves or wrapped in a `diffill` section (as VS Code sends them).
    """
    base = base or Settings()
    raw = as_mapping(raw)
    if raw is None:
        return base, []
    if isinstance(raw, Mapping) and isinstance(raw.get("diffill"), Mapping):
        raw = raw["diffill"]
    errors: list[str] = []
    merged = merge(Settings, base, raw, "", errors)
    for key, problem in check(merged):
        errors.append(f"{key} {problem}")
        fallback = base if not any(k == key for k, _ in check(base)) else Settings()
        merged = reset(merged, key, fallback)
    return merged, errors
