"""One sampler config: the CLI flags, the server settings, the editors and the README agree with it.

The editors' files and the README are only read here; whoever edits them keeps them equal.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from diffill.infill import api, sampler
from diffill.infill.cli import add_model_options, sampler_from
from diffill.lsp.config import Settings, load_settings
from diffill.model.sampler_config import SamplerConfig, camel

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {camel(f.name): f.default for f in fields(SamplerConfig)}


def parser():
    import argparse

    p = argparse.ArgumentParser()
    add_model_options(p)
    return p


def test_one_class_everywhere():
    assert api.SamplerConfig is SamplerConfig and sampler.SamplerConfig is SamplerConfig
    assert Settings().sampler == SamplerConfig()


def test_cli_flags_come_from_the_fields():
    assert sampler_from(parser().parse_args([])) == SamplerConfig()
    args = parser().parse_args(["--threshold", "0.7", "--no-null-tail", "--seed", "3", "--top-p", "0.9",
                                "--refresh-every", "4"])
    assert sampler_from(args) == SamplerConfig(threshold=0.7, null_tail=False, seed=3, top_p=0.9,
                                               refresh_every=4)


@pytest.mark.parametrize("flags", [["--top-p", "0"], ["--max-steps", "0"], ["--rule", "loud"],
                                   ["--threshold", "x"]])
def test_cli_rejects_values_out_of_range(flags, capsys):
    with pytest.raises(SystemExit) as exc:
        parser().parse_args(flags)
    assert exc.value.code == 2


def test_server_takes_every_field_and_checks_ranges():
    every = {"nullTail": False, "stutterGuard": False, "seed": 5, "maxRemasks": 2, "refreshEvery": 3}
    settings, problems = load_settings({"sampler": every})
    assert problems == []
    sm = settings.sampler
    assert (sm.null_tail, sm.stutter_guard, sm.seed) == (False, False, 5)
    assert (sm.max_remasks, sm.refresh_every) == (2, 3)
    settings, problems = load_settings({"sampler": {"topP": 0, "maxSteps": 3}})
    assert settings.sampler.top_p == SamplerConfig().top_p and settings.sampler.max_steps == 3
    assert problems and "sampler.topP" in problems[0]


def test_vscode_defaults_match():
    props = json.loads((ROOT / "editors/vscode/package.json").read_text())["contributes"]["configuration"]
    sampler_keys = {k.removeprefix("diffill.sampler."): v for k, v in props["properties"].items()
                    if k.startswith("diffill.sampler.")}
    assert sampler_keys, "package.json lists no sampler settings"
    for key, schema in sampler_keys.items():
        assert key in DEFAULTS, f"package.json has diffill.sampler.{key}, which the server does not know"
        assert schema["default"] == DEFAULTS[key], key


def test_neovim_defaults_match():
    lua = (ROOT / "editors/nvim/lua/diffill/config.lua").read_text()
    code = "\n".join(line.split("--")[0] for line in lua.splitlines())  # comments out
    block = re.search(r"sampler\s*=\s*\{([^}]*)\}", code)
    if block is None:
        return  # Neovim sends no sampler settings of its own: the server's defaults apply
    for key, value in re.findall(r"(\w+)\s*=\s*([^,\s]+)", block.group(1)):
        assert key in DEFAULTS, key
        text = value.strip("'")
        assert text == DEFAULTS[key] or json.loads(text) == DEFAULTS[key], key


def test_readme_table_matches():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("#### `sampler`", 1)[1].split("\n#### ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section, re.MULTILINE))
    assert set(rows) == set(DEFAULTS), set(rows) ^ set(DEFAULTS)
    for key, shown in rows.items():
        assert json.loads(shown) == DEFAULTS[key], key
