"""Model-family backends on tiny random-weight instances: shapes, masking, pinning, stopping.

No weights are downloaded. DiffusionGemma and ModernBERT are transformers' own classes at a
tiny size. Dream runs on the backend's `DreamQwen2` (transformers' Qwen2 made bidirectional);
a stand-in for the checkpoint's own `modeling_dream.py` is written as local remote code to
test the opt-in path. LLaDA ships its code with the checkpoint, so it is stood in for by the
architecture it is built on, called the way its code is called: a bidirectional Llama taking
`attention_bias`. Quality is not checked, only mechanics.
"""

from __future__ import annotations

import inspect
import json
import textwrap
import time

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from tokenizers import processors
from transformers import (
    DiffusionGemmaConfig,
    DiffusionGemmaForBlockDiffusion,
    LlamaConfig,
    LlamaForCausalLM,
    ModernBertConfig,
    ModernBertForMaskedLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from diffill.infill.api import Cancelled, FillRequest, SamplerConfig, StopSignal
from diffill.infill.canvas import CanvasPlan, batch_canvases, build_canvas
from diffill.infill.engine import InfillEngine
from diffill.infill.sampler import denoise
from diffill.model import loading
from diffill.model.backends.diffusion_gemma import DiffusionGemmaDenoiser, cache_kwarg
from diffill.model.backends.dream import DreamDenoiser, DreamOnDenoiser, DreamQwen2
from diffill.model.backends.llada import LLaDADenoiser
from diffill.model.backends.masked_lm import HFMaskedLMDenoiser
from diffill.model.denoiser import SpecialIds
from diffill.model.errors import CheckpointError
from diffill.model.paths import DEFAULT_CHECKPOINT
from diffill.model.tokenizer import load_tokenizer

TEXT = "def area(width, height):\n    return width * height\n\n\nprint(area(2, 3))\n"
CURSOR = TEXT.index("width *")
HOLE_END = TEXT.index("\n\n\n")
TOKENIZER = DEFAULT_CHECKPOINT / "tokenizer.json"
# The shipped tokenizer's specials: pad=0, mask=1, null=2, bos=3, eos=4.
QWEN_LIKE_IDS = SpecialIds(pad=0, mask=1, null=0, bos=3, eos=4)  # Dream/LLaDA pad holes with eos/pad


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(TOKENIZER)


def canvas_for(d, slots=8, n=1, max_canvas=96, text=TEXT, start=CURSOR, end=HOLE_END):
    cv = build_canvas(d.tokenizer, d.ids, text, start, end, CanvasPlan(slots, max_canvas), heal=False)
    ids, att = batch_canvases([cv.ids] * n, d.ids.pad)
    return cv, ids, att


def assert_fixed_untouched(before, after, positions):
    keep = np.ones(before.shape[1], dtype=bool)
    keep[positions] = False
    assert np.array_equal(before[:, keep], after[:, keep])


# --- tiny models --------------------------------------------------------------------------


def tiny_diffusion_gemma(vocab, canvas=32, seed=0):
    text = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, head_dim=16, global_head_dim=16,
                num_experts=4, top_k_experts=2, moe_intermediate_size=32, sliding_window=16,
                max_position_embeddings=1024, layer_types=["sliding_attention", "full_attention"],
                pad_token_id=0, bos_token_id=3, eos_token_id=4)
    vision = dict(model_type="gemma4_vision", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=1, head_dim=8)
    cfg = DiffusionGemmaConfig(text_config=text, vision_config=vision, canvas_length=canvas,
                               boi_token_id=vocab - 3, eoi_token_id=vocab - 2, image_token_id=vocab - 1)
    torch.manual_seed(seed)
    return DiffusionGemmaForBlockDiffusion(cfg).eval()


class TinyDream(Qwen2ForCausalLM):
    """Stand-in for a checkpoint's modeling_dream.py: Dream's calling convention, bidirectional."""

    def forward(self, input_ids, attention_mask=None, position_ids=None, **kwargs):
        b, t = input_ids.shape
        if attention_mask is None or isinstance(attention_mask, str):  # "full"
            attention_mask = torch.ones(b, 1, t, t, dtype=torch.bool, device=input_ids.device)
        bias = torch.zeros(attention_mask.shape, dtype=self.dtype, device=input_ids.device)
        bias = bias.masked_fill(~attention_mask, torch.finfo(self.dtype).min)
        return super().forward(input_ids=input_ids, attention_mask=bias, position_ids=position_ids, **kwargs)


class TinyLLaDA(LlamaForCausalLM):
    """LLaDA's calling convention on Llama weights: bidirectional, optional bool attention_bias."""

    def forward(self, input_ids, attention_bias=None, **kwargs):
        b, t = input_ids.shape
        if attention_bias is None:
            attention_bias = torch.ones(b, 1, t, t, dtype=torch.bool, device=input_ids.device)
        bias = torch.zeros(attention_bias.shape, dtype=self.dtype, device=input_ids.device)
        bias = bias.masked_fill(~attention_bias, torch.finfo(self.dtype).min)
        return super().forward(input_ids=input_ids, attention_mask=bias, **kwargs)


def small(cfg_cls, vocab, **extra):
    return cfg_cls(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                   num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                   tie_word_embeddings=False, pad_token_id=0, bos_token_id=3, eos_token_id=4, **extra)


@pytest.fixture(scope="module")
def dream_model(tok):
    torch.manual_seed(0)
    return DreamQwen2(small(Qwen2Config, tok.get_vocab_size() + 40)).eval()  # padded vocab, like Qwen


@pytest.fixture(scope="module")
def llada_model(tok):
    torch.manual_seed(0)
    return TinyLLaDA(small(LlamaConfig, tok.get_vocab_size())).eval()


def tiny_modernbert(vocab):
    torch.manual_seed(0)
    cfg = ModernBertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=512, local_attention=16,
                           layer_types=["full_attention", "sliding_attention"], pad_token_id=0,
                           bos_token_id=3, eos_token_id=4, cls_token_id=3, sep_token_id=4)
    return ModernBertForMaskedLM(cfg).eval()


def write_tokenizer(folder, tok, with_specials_template=False):
    tok = load_tokenizer(TOKENIZER)
    if with_specials_template:  # like BERT-style tokenizers: [CLS] text [SEP] on every encode
        tok.post_processor = processors.TemplateProcessing(
            single="<|bos|> $A <|eos|>", pair="$A $B", special_tokens=[("<|bos|>", 3), ("<|eos|>", 4)])
    tok.save(str(folder / "tokenizer.json"))


def patch_config(folder, **changes):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


@pytest.fixture(scope="module")
def modernbert_folder(tmp_path_factory, tok):
    folder = tmp_path_factory.mktemp("modernbert")
    tiny_modernbert(tok.get_vocab_size()).save_pretrained(folder, safe_serialization=True)
    write_tokenizer(folder, tok, with_specials_template=True)
    return folder


# --- DiffusionGemma ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gemma(tok):
    return DiffusionGemmaDenoiser(tiny_diffusion_gemma(tok.get_vocab_size()), tok, "cpu", max_canvas=128)


def record_decoder(monkeypatch, d):
    calls = []
    original = d.decode

    def spy(canvas, cache, start, self_conditioning):
        calls.append((canvas.clone(), start, self_conditioning is not None))
        return original(canvas, cache, start, self_conditioning)

    monkeypatch.setattr(d, "decode", spy)
    return calls


def test_diffusion_gemma_fills_hole_pins_suffix_and_stops_within_cap(gemma, monkeypatch):
    d = gemma
    assert d.noise == "uniform" and d.logit_shift == 0 and d.canvas_length == 32
    cv, ids, att = canvas_for(d, slots=8, n=2)
    before = ids.copy()
    suffix = before[0, cv.slot_start + 8 : int(att[0].sum())]
    calls = record_decoder(monkeypatch, d)
    res = denoise(d, ids, att, cv.slot_positions, SamplerConfig(max_steps=6, seed=3))
    assert 1 <= res.steps <= 6 and len(calls) == res.steps
    assert [len(row) for row in res.slots] == [8, 8]
    assert all(d.ids.mask not in row and all(0 <= t < d.vocab for t in row) for row in res.slots)
    assert all(t not in d.forbidden for row in res.slots for t in row)
    for canvas, start, _ in calls:
        # The decoder canvas is the hole then the suffix; the prefix (with BOS) is in the cache.
        assert start == cv.slot_start + (0 if before[0, 0] == d.ids.bos else 1)
        assert canvas.shape == (2, min(8 + len(suffix), d.canvas_length))
        assert torch.equal(canvas[:, 8:], torch.as_tensor(suffix[: canvas.shape[1] - 8]).expand(2, -1))
    assert [sc for _, _, sc in calls] == [False] + [True] * (len(calls) - 1)  # self-conditioning
    assert_fixed_untouched(before, ids, cv.slot_positions)
    assert ids[0, cv.slot_positions].tolist() == res.slots[0]


def test_diffusion_gemma_cache_path_matches_the_models_own_forward(gemma):
    from transformers import DynamicCache

    prefix = torch.arange(3, 24).unsqueeze(0) * 37 % 8000 + 5  # longer than the sliding window
    canvas = torch.randint(5, 8000, (1, 20), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cache = gemma.new_cache()
        ours = gemma.decode(canvas, cache, gemma.encode(prefix, cache, 0), None)
        cache = DynamicCache(config=gemma.model.config.get_text_config(decoder=True))
        theirs = gemma.model(input_ids=prefix, decoder_input_ids=canvas,
                             **{cache_kwarg(gemma.model.forward): cache}).logits
        split = gemma.new_cache()  # canvas by canvas: the prefix encoded in two pieces
        at = gemma.encode(prefix[:, 9:], split, gemma.encode(prefix[:, :9], split, 0))
        pieces = gemma.decode(canvas, split, at, None)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(ours, pieces, atol=1e-4)


def test_diffusion_gemma_is_deterministic_under_a_seed(gemma):
    outs = []
    for _ in range(2):
        cv, ids, att = canvas_for(gemma, slots=6)
        outs.append(denoise(gemma, ids, att, cv.slot_positions, SamplerConfig(max_steps=4, seed=11)).slots)
    assert outs[0] == outs[1]


def test_diffusion_gemma_stops_when_stable_and_confident(gemma, monkeypatch):
    def confident(canvas, cache, start, self_conditioning):
        logits = torch.zeros(canvas.shape[0], canvas.shape[1], gemma.model_vocab)
        logits[..., 42] = 100.0
        return logits

    monkeypatch.setattr(gemma, "decode", confident)
    cv, ids, att = canvas_for(gemma, slots=8)
    res = denoise(gemma, ids, att, cv.slot_positions, SamplerConfig(max_steps=20))
    assert res.steps == 2  # argmax unchanged for one step and mean entropy ~0: the stock stop
    assert res.slots[0] == [42] * 8


def test_diffusion_gemma_long_hole_goes_canvas_by_canvas(gemma, monkeypatch):
    cv, ids, att = canvas_for(gemma, slots=40, max_canvas=128)
    before = ids.copy()
    calls = record_decoder(monkeypatch, gemma)
    res = denoise(gemma, ids, att, cv.slot_positions, SamplerConfig(max_steps=3))
    suffix = before[0, cv.slot_start + 40 : int(att[0].sum())][:24]
    widths = [(c.shape[1], start) for c, start, _ in calls]
    first, second = widths[0], widths[-1]
    assert first[0] == 32  # a whole canvas of slots, no suffix in sight
    assert second == (8 + len(suffix), first[1] + 32)  # the other 8 slots + suffix, after the cache grew
    assert torch.equal(calls[-1][0][0, 8:], torch.as_tensor(suffix))
    assert len(res.slots[0]) == 40 and res.steps <= 6
    assert_fixed_untouched(before, ids, cv.slot_positions)


def test_diffusion_gemma_honours_cancel_and_deadline(gemma):
    cv, ids, att = canvas_for(gemma, slots=4)
    stop = StopSignal()
    stop.cancel.set()
    with pytest.raises(Cancelled):
        denoise(gemma, ids, att, cv.slot_positions, SamplerConfig(max_steps=4), stop)
    with pytest.raises(Cancelled):  # expired before any step: nothing to return
        denoise(gemma, ids, att, cv.slot_positions, SamplerConfig(max_steps=4),
                StopSignal(deadline=time.monotonic() - 1))


def test_diffusion_gemma_logits_for_scoring(gemma):
    cv, ids, att = canvas_for(gemma, slots=5, n=3)
    positions = np.array([cv.slot_positions] * 3)
    out = gemma.logits(ids, att, positions)
    assert out.shape == (3, 5, gemma.vocab) and isinstance(out, np.ndarray) and out.dtype == np.float32
    assert np.isfinite(out[..., gemma.ids.null]).all()
    assert (out[..., gemma.ids.eos] == -np.inf).all()  # end of text folded into null


def test_diffusion_gemma_loads_from_folder_and_fills_through_engine(tmp_path, tok):
    tiny_diffusion_gemma(tok.get_vocab_size()).save_pretrained(tmp_path, safe_serialization=True)
    write_tokenizer(tmp_path, tok)
    d = loading.load_denoiser(tmp_path, device="cpu", dtype="fp32")
    assert isinstance(d, DiffusionGemmaDenoiser) and d.line_budget == d.block_budget == 16  # half a canvas
    result = InfillEngine(d).fill(FillRequest(text=TEXT, start=CURSOR, language="python",
                                              sampler=SamplerConfig(max_steps=4)))
    assert 1 <= result.steps <= 4 + 1  # one canvas, plus one pass scoring buffer drafts
    assert result.start == CURSOR


# --- masked LMs (ModernBERT) -------------------------------------------------------------


def test_masked_lm_loads_and_strips_tokenizer_specials(modernbert_folder):
    assert loading.detect_family(modernbert_folder) == "masked_lm"
    d = loading.load_denoiser(modernbert_folder, device="cpu", dtype="fp32")
    assert isinstance(d, HFMaskedLMDenoiser)
    assert d.ids == SpecialIds(pad=0, mask=1, null=0, bos=3, eos=4)
    assert d.tokenizer.encode("x = 1").ids[0] != 3  # no [CLS] added behind the canvas's back
    assert d.ids.null not in d.forbidden and d.ids.mask in d.forbidden


def test_masked_lm_one_step_denoiser_iterated_by_sampler(modernbert_folder):
    d = loading.load_denoiser(modernbert_folder, device="cpu", dtype="fp32")
    cv, ids, att = canvas_for(d, slots=6, n=2)
    assert (ids[:, cv.slot_positions] == d.ids.mask).all()
    positions = np.array([cv.slot_positions] * 2)
    assert d.logits(ids, att, positions).shape == (2, 6, d.vocab)
    before = ids.copy()
    res = denoise(d, ids, att, cv.slot_positions, SamplerConfig(threshold=1.01, max_steps=4))
    assert res.steps == 4  # one commit per step, then the cap commits the rest
    assert not (ids[:, cv.slot_positions] == d.ids.mask).any()
    assert_fixed_untouched(before, ids, cv.slot_positions)


def test_masked_lm_through_engine_fill(modernbert_folder):
    d = loading.load_denoiser(modernbert_folder, device="cpu", dtype="fp32")
    engine = InfillEngine(d)
    result = engine.fill(FillRequest(text=TEXT, start=CURSOR, language="python", n=2,
                                     sampler=SamplerConfig(max_steps=5)))
    assert 1 <= result.steps <= 5 + 1
    assert all(isinstance(c.text, str) for c in result.candidates)


# --- Dream / DiffuCoder / DreamOn ---------------------------------------------------------


@pytest.fixture(scope="module")
def dream(dream_model, tok):
    return DreamDenoiser(dream_model, tok, QWEN_LIKE_IDS, "cpu", null_aliases=[4])


def test_dream_logits_are_shifted_right_by_one(dream, dream_model):
    cv, ids, att = canvas_for(dream, slots=6)
    positions = np.array([cv.slot_positions])
    out = dream.logits(ids, att, positions)  # (1, 6, V_tok)
    with torch.no_grad():
        raw = dream_model(torch.as_tensor(ids), "full", None).logits  # (1, T, V_model)
    expected = dream.fit(raw[0, [p - 1 for p in cv.slot_positions]]).numpy()
    assert out.shape == (1, 6, dream.vocab)
    assert np.allclose(out[0], expected, atol=1e-5)


def test_dream_attention_is_bidirectional_and_padding_masked(dream):
    cv, ids, att = canvas_for(dream, slots=6)
    positions = np.array([cv.slot_positions])
    base = dream.logits(ids, att, positions)
    later = ids.copy()
    later[0, -3] = 500  # a suffix token, after every slot
    assert not np.allclose(base, dream.logits(later, att, positions))
    padded, patt = batch_canvases([ids[0].tolist(), ids[0, :-5].tolist()], dream.ids.pad)
    both = dream.logits(padded, patt, np.repeat(positions, 2, axis=0))
    assert np.allclose(both[0], base[0], atol=1e-4)  # padding changes nothing for real tokens


def test_dream_sampler_fills_pins_and_stops(dream):
    cv, ids, att = canvas_for(dream, slots=8, n=2)
    before = ids.copy()
    res = denoise(dream, ids, att, cv.slot_positions,
                  SamplerConfig(rule="entropy", temperature=0.2, top_p=0.95, max_steps=5))
    assert 1 <= res.steps <= 5
    assert all(dream.ids.mask not in row for row in res.slots)
    assert all(t not in dream.forbidden and t != 4 for row in res.slots for t in row)  # eos is null
    assert_fixed_untouched(before, ids, cv.slot_positions)


class ScriptedDream:
    """forward_logits that picks given tokens for the open slots, step by step."""

    def __init__(self, script, vocab, mask):
        self.script, self.vocab, self.mask, self.inputs = script, vocab, mask, []

    def __call__(self, canvas, attention):
        self.inputs.append(canvas[0].tolist())
        step = self.script[min(len(self.inputs), len(self.script)) - 1]
        logits = torch.zeros(1, canvas.shape[1], self.vocab)
        for j, i in enumerate(torch.nonzero(canvas[0] == self.mask).flatten().tolist()):
            logits[0, i, step[min(j, len(step) - 1)]] = 50.0
        return logits


def test_dreamon_expands_and_deletes_within_bounds(dream_model, tok, monkeypatch):
    expand, delete = 100, 101
    d = DreamOnDenoiser(dream_model, tok, QWEN_LIKE_IDS, "cpu", null_aliases=[4], expand=expand,
                        delete=delete, start_slots=2)
    cv, ids, att = canvas_for(d, slots=6)
    before = ids.copy()
    prefix = before[0, : cv.slot_start].tolist()
    suffix = before[0, cv.slot_start + 6 : int(att[0].sum())].tolist()
    script = ScriptedDream([[expand], [50, 51, delete, delete]], d.vocab, d.ids.mask)
    monkeypatch.setattr(d, "forward_logits", script)
    res = denoise(d, ids, att, cv.slot_positions, SamplerConfig(max_steps=10))
    assert script.inputs[0] == prefix + [d.ids.mask] * 2 + suffix  # starts from two masks
    assert script.inputs[1] == prefix + [d.ids.mask] * 4 + suffix  # each expand -> two masks
    assert res.slots == [[50, 51, d.ids.null]]  # deleted slots are gone; null: the hole ended
    assert res.steps == 2
    assert ids[0, cv.slot_positions].tolist() == [50, 51] + [d.ids.null] * 4
    assert_fixed_untouched(before, ids, cv.slot_positions)


def test_dreamon_real_forward_respects_cap_and_length(dream_model, tok):
    d = DreamOnDenoiser(dream_model, tok, QWEN_LIKE_IDS, "cpu", null_aliases=[4], expand=100, delete=101)
    cv, ids, att = canvas_for(d, slots=6, n=2)
    res = denoise(d, ids, att, cv.slot_positions, SamplerConfig(threshold=1.01, max_steps=3, temperature=0.5))
    assert res.steps <= 3 * 2  # per row
    assert all(len(row) <= 7 and d.ids.mask not in row and 100 not in row for row in res.slots)


# --- LLaDA -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llada(llada_model, tok):
    # Its own mask id: any token the canvas marks open (126336 in LLaDA-8B).
    ids = SpecialIds(pad=4, mask=7, null=4, bos=3, eos=4)
    return LLaDADenoiser(llada_model, tok, ids, "cpu", null_aliases=[0])


def test_llada_logits_unshifted_with_own_mask_id(llada, llada_model):
    cv, ids, att = canvas_for(llada, slots=6)
    assert (ids[0, cv.slot_positions] == 7).all() and 1 not in ids[0].tolist()
    positions = np.array([cv.slot_positions])
    out = llada.logits(ids, att, positions)
    with torch.no_grad():
        raw = llada_model(input_ids=torch.as_tensor(ids)).logits
    assert np.allclose(out[0], llada.fit(raw[0, cv.slot_positions]).numpy(), atol=1e-5)
    padded, patt = batch_canvases([ids[0].tolist(), ids[0, :-5].tolist()], llada.ids.pad)
    both = llada.logits(padded, patt, np.repeat(positions, 2, axis=0))
    assert np.allclose(both[0], out[0], atol=1e-4)


def test_llada_sampler_fills_pins_and_stops(llada):
    cv, ids, att = canvas_for(llada, slots=8)
    before = ids.copy()
    res = denoise(llada, ids, att, cv.slot_positions, SamplerConfig(max_steps=4))
    assert 1 <= res.steps <= 4 and 7 not in res.slots[0]
    assert_fixed_untouched(before, ids, cv.slot_positions)


# --- loading: family choice, remote code, memory, safety -----------------------------------


def write_config(folder, **config):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file({"w": torch.zeros(4, 4)}, str(folder / "model.safetensors"))
    return folder


@pytest.mark.parametrize(("config", "family"), [
    ({"model_type": "diffusion_gemma"}, "diffusion_gemma"),
    ({"model_type": "Dream"}, "dream"),
    ({"model_type": "qwen2", "auto_map": {"AutoModel": "modeling_dream.DreamModel"}}, "dream"),
    ({"model_type": "llada"}, "llada"),
    ({"model_type": "modernbert"}, "masked_lm"),
    ({"model_type": "roberta", "architectures": ["RobertaForMaskedLM"]}, "masked_lm"),
])
def test_family_from_config(tmp_path, config, family):
    assert loading.detect_family(write_config(tmp_path / "ck", **config)) == family


def test_own_checkpoints_and_unknown_families(tmp_path):
    assert loading.detect_family(DEFAULT_CHECKPOINT) == "diffill"
    with pytest.raises(CheckpointError, match="cannot fill a hole"):
        loading.detect_family(write_config(tmp_path / "gpt", model_type="gpt2"))


def test_remote_code_needs_opt_in(tmp_path):
    folder = write_config(tmp_path / "llada", model_type="llada",
                          auto_map={"AutoModel": "modeling_llada.LLaDAModelLM",
                                    "AutoConfig": "configuration_llada.LLaDAConfig"})
    with pytest.raises(CheckpointError) as err:
        loading.load_denoiser(folder, device="cpu", dtype="fp32")
    assert "--trust-remote-code" in str(err.value) and "trustRemoteCode" in str(err.value)
    assert "modeling_llada.py" in str(err.value)
    with pytest.raises(CheckpointError, match="never downloads code"):
        loading.load_denoiser(folder, device="cpu", dtype="fp32", trust_remote_code=True)


REMOTE_CONFIG = '''from transformers import Qwen2Config


class DreamConfig(Qwen2Config):
    model_type = "Dream"
'''


def write_remote_dream(folder, dream_model, tok, dreamon=False):
    dream_model.save_pretrained(folder, safe_serialization=True)
    write_tokenizer(folder, tok)
    (folder / "configuration_dream.py").write_text(REMOTE_CONFIG)
    source = textwrap.dedent(inspect.getsource(TinyDream)).replace(
        "class TinyDream(Qwen2ForCausalLM):",
        "class DreamModel(Qwen2ForCausalLM):\n    config_class = DreamConfig\n")
    header = ("import torch\nfrom transformers import Qwen2ForCausalLM\n\n"
              "from .configuration_dream import DreamConfig\n\n\n")
    (folder / "modeling_dream.py").write_text(header + source)
    patch_config(folder, model_type="Dream", architectures=["DreamModel"], mask_token_id=1,
                 auto_map={"AutoConfig": "configuration_dream.DreamConfig",
                           "AutoModel": "modeling_dream.DreamModel"})
    gen = {"mask_token_id": 1, "pad_token_id": 0, "eos_token_id": 4, "bos_token_id": 3}
    if dreamon:
        gen |= {"expand_token_id": 100, "delete_token_id": 101}
    (folder / "generation_config.json").write_text(json.dumps(gen))


def test_tokenizer_without_tokenizer_json_is_converted(tmp_path, tok):
    from diffill.model.backends.common import load_hf_tokenizer

    tok.model.save(str(tmp_path))  # vocab.json + merges.txt, as DiffuCoder ships them
    specials = ["<|pad|>", "<|mask|>", "<|null|>", "<|bos|>", "<|eos|>"]
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "DreamTokenizer",  # custom code, not in the folder: the fallback is used
        "auto_map": {"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]},
        "added_tokens_decoder": {str(i): {"content": n, "special": True} for i, n in enumerate(specials)},
    }))
    with pytest.raises(CheckpointError, match="could not be converted"):
        load_hf_tokenizer(tmp_path)
    converted = load_hf_tokenizer(tmp_path, fallback="Qwen2Tokenizer")
    assert converted.token_to_id("<|mask|>") == 1
    assert converted.decode(converted.encode(TEXT).ids) == TEXT
    assert converted.encode("<|mask|>").ids != [1]  # source text stays text


def test_dream_checkpoint_loads_natively_or_with_its_own_code(tmp_path, dream_model, tok, monkeypatch):
    import transformers.dynamic_module_utils as dynamic

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    for name, dreamon in (("dreamck", False), ("dreamonck", True)):
        folder = tmp_path / name
        write_remote_dream(folder, dream_model, tok, dreamon)
        native = loading.load_denoiser(folder, device="cpu", dtype="fp32")  # no code from the folder
        remote = loading.load_denoiser(folder, device="cpu", dtype="fp32", trust_remote_code=True)
        assert type(native.model) is DreamQwen2 and type(remote.model).__name__ == "DreamModel"
        for d in (native, remote):
            assert type(d) is (DreamOnDenoiser if dreamon else DreamDenoiser)
            assert d.ids == SpecialIds(pad=0, mask=1, null=0, bos=3, eos=4) and d.logit_shift == 1
        cv, ids, att = canvas_for(native, slots=4)
        positions = np.array([cv.slot_positions])
        native_logits = native.logits(ids, att, positions)
        assert np.allclose(native_logits, remote.logits(ids, att, positions), atol=1e-5)
        before = ids.copy()
        res = denoise(remote, ids, att, cv.slot_positions, SamplerConfig(max_steps=3))
        assert res.steps <= 3
        assert_fixed_untouched(before, ids, cv.slot_positions)


def test_memory_is_checked_before_loading(modernbert_folder, monkeypatch):
    params = sum(p.numel() for p in tiny_modernbert(8192).parameters())
    fp32 = loading.estimate_weight_bytes(modernbert_folder, torch.float32)
    assert abs(fp32 - 4 * params) <= 4 * 8192 * 32  # a tied head may be stored once or twice
    assert loading.estimate_weight_bytes(modernbert_folder, torch.bfloat16) == fp32 // 2
    assert loading.estimate_weight_bytes(modernbert_folder, torch.bfloat16, "4bit") < fp32 // 2
    monkeypatch.setattr(loading, "available_memory", lambda device: 1000)
    with pytest.raises(CheckpointError, match=r"needs about .* GB on cpu .* free"):
        loading.load_denoiser(modernbert_folder, device="cpu", dtype="fp32")
    monkeypatch.setenv("DIFFILL_SKIP_MEMORY_CHECK", "1")
    assert loading.load_denoiser(modernbert_folder, device="cpu", dtype="fp32") is not None


def test_pickle_weights_are_refused(tmp_path):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "modernbert"}))
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(CheckpointError, match="safetensors only"):
        loading.load_denoiser(folder, device="cpu", dtype="fp32")


def test_device_dtype_and_quantization_errors(modernbert_folder):
    with pytest.raises(CheckpointError, match="--device must be"):
        loading.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(CheckpointError, match="no CUDA GPU"):
            loading.resolve_device("cuda")
    with pytest.raises(CheckpointError, match="--dtype must be"):
        loading.resolve_dtype("cpu", "float16")
    with pytest.raises(CheckpointError, match="--quantization must be"):
        loading.load_denoiser(modernbert_folder, device="cpu", quantization="2bit")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        with pytest.raises(CheckpointError, match="pip install bitsandbytes"):
            loading.load_denoiser(modernbert_folder, device="cpu", quantization="4bit")
    with pytest.raises(CheckpointError, match="never downloads weights"):
        loading.load_denoiser(modernbert_folder.parent / "missing", device="cpu")


def test_default_model_is_still_the_zero_configuration_path():
    from diffill.model.denoiser import MaskedLMDenoiser

    d = loading.load_denoiser(None, device="cpu")
    assert type(d) is MaskedLMDenoiser


# --- the CLI and the server choose the backend from the checkpoint -------------------------


def test_cli_fill_with_a_masked_lm_and_remote_code_refusal(tmp_path, modernbert_folder, capsys):
    from diffill.lsp.cli import main

    src = tmp_path / "area.py"
    src.write_text(TEXT)
    common = ["--device", "cpu", "--dtype", "fp32", "--max-steps", "3"]
    assert main(["fill", str(src), "--at", "2:12", "--model", str(modernbert_folder), *common]) == 0
    assert capsys.readouterr().out.startswith("def area")
    llada_folder = write_config(tmp_path / "llada", model_type="llada",
                                auto_map={"AutoModel": "modeling_llada.LLaDAModelLM"})
    assert main(["fill", str(src), "--at", "2:12", "--model", str(llada_folder), *common]) == 3
    assert "--trust-remote-code" in capsys.readouterr().err


def test_server_settings_and_loader(modernbert_folder):
    from diffill.lsp.config import Settings, load_settings
    from diffill.lsp.server import engine_loader

    settings, problems = load_settings({"trustRemoteCode": True, "quantization": "4bit"})
    assert settings.trust_remote_code and settings.quantization == "4bit" and not problems
    assert settings.model_key() != Settings().model_key()
    _, problems = load_settings({"quantization": "2bit"})
    assert problems and "quantization" in problems[0]
    engine = engine_loader(Settings(model_path=str(modernbert_folder), device="cpu", dtype="fp32"))()
    assert isinstance(engine.denoiser, HFMaskedLMDenoiser)

