"""Server settings for drafts and rewrites: valid values apply, bad ones keep the default."""

from __future__ import annotations

from diffill.infill.requests import range_request
from diffill.lsp.config import Settings, load_settings


def test_draft_policy_and_rewrite_strength_apply():
    settings, problems = load_settings({"draftPolicy": "verify", "rewriteStrength": 0.4})
    assert problems == []
    assert (settings.draft_policy, settings.rewrite_strength) == ("verify", 0.4)
    req = range_request("x = 1\n", 4, 5, "python", settings.fill_settings(), n=1)
    assert req.strength == 0.4 and req.draft_policy == "verify"
    assert range_request("x = 1\n", 4, 5, "python", settings.fill_settings(), strength=0.0).strength == 0.0


def test_bad_draft_policy_and_strength_keep_defaults():
    settings, problems = load_settings({"draftPolicy": "sometimes", "rewriteStrength": 1.5})
    assert settings.draft_policy == Settings().draft_policy
    assert settings.rewrite_strength == Settings().rewrite_strength
    assert any("draftPolicy" in p for p in problems) and any("rewriteStrength" in p for p in problems)
