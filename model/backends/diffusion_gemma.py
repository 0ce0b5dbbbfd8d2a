"""DiffusionGemma (transformers' `DiffusionGemmaForBlockDiffusion`) as an infilling denoiser.

The model pairs a causal encoder, which writes the prompt into a KV cache, with a
bidirectional decoder that refines a canvas of `config.canvas_length` tokens. Its noise is
uniform-state: a canvas starts as random tokens, each step accepts the lowest-entropy
positions while their summed entropy stays within a bound, re-noises the rest, and feeds the
step's logits back in (self-conditioning); it stops when the argmax canvas is stable and its
mean entropy is low (transformers/models/diffusion_gemma/generation_diffusion_gemma.py).

DiffusionGemma has no infilling mode, so here:
- the prefix goes through the encoder into the KV cache (always starting with BOS);
- the canvas holds the hole's slots followed by the fixed suffix tokens;
- the stock loop re-noises every position it did not accept, so the suffix is pinned each
  step: its logits are made one-hot before acceptance (entropy 0, always accepted) and the
  suffix is written back after re-noising;
- the acceptance rule, temperature schedule and stopping rule are transformers' own classes,
  parameterised from the checkpoint's generation_config.json; the stopping rule only looks at
  the hole (pinned positions would make the mean entropy look confident);
- a hole longer than one canvas is filled canvas by canvas: a full canvas of slots, whose
  argmax is then encoded into the cache like the stock generate loop does, then the rest with
  the suffix.
The output is the argmax canvas, as in the stock `generate`. End-of-text ids in the hole are
read as the null slot.
"""

from __future__ import annotations

import inspect
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from ..denoiser import LoopResult, Poll, SpecialIds
from ..errors import CheckpointError
from ..sampler_config import SamplerConfig
from .common import (
    MASK_NAMES,
    HFDenoiser,
    OwnLoop,
    all_ids,
    first_id,
    load_hf_tokenizer,
    load_weights,
    token_id,
)

# transformers' DiffusionGemmaGenerationConfig defaults, used when the checkpoint sets none.
DEFAULTS = {"t_min": 0.4, "t_max": 0.8, "entropy_bound": 0.1, "stability_threshold": 1,
            "confidence_threshold": 0.005}


def cache_kwarg(fn: Any) -> str:
    """The name under which fn takes the KV cache.

    transformers renamed `past_key_values` to `cache` (the old name warns with a FutureWarning
    until 5.40 removes it); older 5.x releases have only the old name.
    """
    return "cache" if "cache" in inspect.signature(fn).parameters else "past_key_values"


class Expired(Exception):
    """The deadline fired before the first forward pass of a canvas."""


class PinLogits:
    """Logits processor: fixed positions one-hot on their token; banned ids out of the slots.

    A one-hot row has entropy 0, so the entropy-bound sampler always accepts it and never
    re-noises it.
    """

    def __init__(self, slots: int, fixed: torch.Tensor, slot_bias: torch.Tensor,
                 first_bias: torch.Tensor | None) -> None:
        self.slots = slots  # canvas positions [0, slots) are hole slots, the rest fixed
        self.fixed = fixed  # (B, F) fixed token ids
        self.slot_bias = slot_bias  # (V,) 0 or -inf
        self.first_bias = first_bias  # (V,) extra bias of the first slot (token healing)

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:
        out = scores.clone()  # (B, L, V)
        out[:, : self.slots] += self.slot_bias
        if self.first_bias is not None:
            out[:, 0] += self.first_bias
        if self.fixed.shape[1]:
            pinned = torch.full_like(out[:, self.slots :], -math.inf)
            pinned.scatter_(-1, self.fixed.unsqueeze(-1), 0.0)
            out[:, self.slots :] = pinned
        return out


class DiffusionGemmaDenoiser(OwnLoop, HFDenoiser):
    """Uniform-noise block diffusion; runs its own step loop (`sample`)."""

    noise = "uniform"
    logit_shift = 0

    def __init__(self, model: Any, tokenizer: Any, device: str = "cpu", *, max_canvas: int = 2048,
                 line_budget: int = 32, block_budget: int = 128) -> None:
        text = model.config.get_text_config()
        gen = getattr(model, "generation_config", None)
        pad = first_id(getattr(text, "pad_token_id", None))
        eos_all = all_ids(getattr(gen, "eos_token_id", None)) + all_ids(getattr(text, "eos_token_id", None))
        bos = first_id(getattr(text, "bos_token_id", None))
        mask = token_id(tokenizer, MASK_NAMES)
        if pad is None or bos is None or not eos_all:
            raise CheckpointError("DiffusionGemma config lacks pad, bos or eos token ids")
        if mask is None:
            # Uniform noise has no mask token; the canvas only needs an id text never produces.
            mask = int(getattr(model.config, "image_token_id", None) or tokenizer.get_vocab_size() - 1)
        ids = SpecialIds(pad=pad, mask=mask, null=pad, bos=bos, eos=eos_all[0])
        multimodal = [getattr(model.config, f"{k}_token_id", None) for k in ("boi", "eoi", "image")]
        self.canvas_length = int(model.config.canvas_length)
        # Slots take at most half a canvas, so the suffix is in sight of the hole.
        half = max(1, self.canvas_length // 2)
        super().__init__(model, tokenizer, ids, device, max_canvas=max_canvas,
                         line_budget=min(line_budget, half), block_budget=min(block_budget, half),
                         null_aliases=eos_all, extra_forbidden=[i for i in multimodal if isinstance(i, int)])
        self.model_vocab = int(text.vocab_size)
        found = {k: getattr(gen, k, None) for k in DEFAULTS}
        self.settings = {k: float(DEFAULTS[k] if v is None else v) for k, v in found.items()}
        sampler_config = getattr(gen, "sampler_config", None)
        bound = getattr(sampler_config, "entropy_bound", None)
        if bound is not None:
            self.settings["entropy_bound"] = float(bound)

    @classmethod
    def from_folder(
        cls, folder: Path, device: str, dtype: torch.dtype, quantization_config: Any = None
    ) -> DiffusionGemmaDenoiser:
        from transformers import DiffusionGemmaForBlockDiffusion

        tok = load_hf_tokenizer(folder)
        model = load_weights(DiffusionGemmaForBlockDiffusion, folder, device=device, dtype=dtype,
                             quantization_config=quantization_config)
        return cls(model, tok, device)

    # --- the prefix: encoder into the KV cache ------------------------------------------

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config.get_text_config(decoder=True))

    def encode(self, ids: torch.Tensor, cache: Any, start: int) -> int:
        """Append ids (B, P) at positions start.. to the cache; returns the new length."""
        encoder = self.model.model.encoder
        b, p = ids.shape
        positions = torch.arange(start, start + p, device=self.device).unsqueeze(0)
        attention = torch.ones(b, start + p, dtype=torch.bool, device=self.device)
        dtype = self.model.model.decoder.embed_tokens.weight.dtype
        masks = encoder.create_masks_for_generate(
            config=self.model.config, inputs_embeds=torch.empty(b, p, 0, dtype=dtype, device=self.device),
            attention_mask=attention, position_ids=positions,
            **{cache_kwarg(encoder.create_masks_for_generate): cache})
        encoder(input_ids=ids.to(self.device), attention_mask=masks, position_ids=positions,
                **{cache_kwarg(encoder.forward): cache})
        return start + p

    def prefix_ids(self, prefix: torch.Tensor) -> torch.Tensor:
        """The encoder input: the canvas prefix, starting with BOS (Gemma expects it)."""
        if prefix.shape[1] and bool((prefix[:, 0] == self.ids.bos).all()):
            return prefix
        bos = torch.full((prefix.shape[0], 1), self.ids.bos, dtype=prefix.dtype)
        return torch.cat([bos, prefix], 1)

    def decode(self, canvas: torch.Tensor, cache: Any, start: int, self_conditioning: Any) -> torch.Tensor:
        """Raw logits (B, L, V_model) of the decoder over canvas (B, L) placed at start.."""
        positions = torch.arange(start, start + canvas.shape[1], device=self.device).unsqueeze(0)
        out = self.model(decoder_input_ids=canvas, self_conditioning_logits=self_conditioning,
                         decoder_position_ids=positions, **{cache_kwarg(self.model.forward): cache})
        return out.logits.float()

    def slot_biases(self, allowed_first: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(V_model,) biases: banned ids and ids the tokenizer cannot decode; the first slot's."""
        bias = torch.zeros(self.model_vocab, device=self.device)
        bias[self.vocab :] = -math.inf
        bias[[i for i in self.forbidden if i < self.model_vocab]] = -math.inf
        first = None
        if allowed_first is not None:
            first = torch.zeros(self.model_vocab, device=self.device)
            n = min(self.model_vocab, allowed_first.numel())
            first[:n] = torch.where(allowed_first[:n].to(self.device), 0.0, -math.inf)
        return bias, first

    # --- the step loop -------------------------------------------------------------------

    @torch.no_grad()
    def torch_sample(
        self, canvas: torch.Tensor, attention: torch.Tensor, slot_positions: list[int],
        cfg: SamplerConfig, poll: Poll, allowed_first: torch.Tensor | None,
    ) -> LoopResult:
        """Fill the slots of every row; rows of equal length run as one batch."""
        start, k = slot_positions[0], len(slot_positions)
        assert slot_positions == list(range(start, start + k)), "hole slots must be contiguous"
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        groups: dict[int, list[int]] = defaultdict(list)
        for r, length in enumerate(attention.sum(-1).tolist()):
            groups[int(length)].append(r)
        slots: list[list[int]] = [[] for _ in range(canvas.shape[0])]
        logprob = [0.0] * canvas.shape[0]
        state = {"steps": 0, "hurried": False}
        for length, rows in groups.items():
            sub = canvas[rows, :length]
            try:
                tokens, logp = self.fill_hole(sub, start, k, cfg, poll, allowed_first, gen, state)
            except Expired:
                return LoopResult([], [], state["steps"], 0, cancelled=True)
            if tokens is None:
                return LoopResult([], [], state["steps"], 0, cancelled=True)
            for j, r in enumerate(rows):
                slots[r] = tokens[j].tolist()
                logprob[r] = float(logp[j])
                canvas[r, start : start + k] = tokens[j].to(canvas.dtype).cpu()
        return LoopResult(slots, logprob, int(state["steps"]), k * canvas.shape[0],
                          hurried=bool(state["hurried"]))

    def fill_hole(
        self, sub: torch.Tensor, start: int, k: int, cfg: SamplerConfig, poll: Poll,
        allowed_first: torch.Tensor | None, gen: torch.Generator, state: dict[str, Any],
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Tokens (B, k) and log-probabilities (B,) of rows sub (B, T) sharing one length."""
        cache = self.new_cache()
        prefix = self.prefix_ids(sub[:, :start])
        length = self.encode(prefix, cache, 0)
        slots0 = sub[:, start : start + k].to(self.device)
        suffix = sub[:, start + k :].to(self.device)
        pieces: list[torch.Tensor] = []
        logp = torch.zeros(sub.shape[0], device=self.device)
        done = 0
        while done < k:
            c = min(k - done, self.canvas_length)
            last = done + c == k
            # Only the canvas that ends the hole may show the suffix right after its slots.
            fixed = suffix[:, : self.canvas_length - c] if last else suffix[:, :0]
            first = allowed_first if done == 0 else None
            out = self.denoise_canvas(slots0[:, done : done + c], fixed, cache, length, first, cfg, poll,
                                      gen, state)
            if out is None:
                return None, logp
            tokens, piece_logp = out
            pieces.append(tokens)
            logp += piece_logp
            done += c
            if not last:
                length = self.encode(tokens, cache, length)
        tokens = torch.cat(pieces, 1)
        # End-of-text inside the hole means "nothing more here": the null slot.
        for alias in self.null_aliases:
            tokens[tokens == alias] = self.ids.null
        return tokens, logp

    def denoise_canvas(
        self, init: torch.Tensor, fixed: torch.Tensor, cache: Any, start: int,
        allowed_first: torch.Tensor | None, cfg: SamplerConfig, poll: Poll, gen: torch.Generator,
        state: dict[str, Any],
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """One canvas: slots init (B, c) (mask ids are open) then fixed (B, F). None: cancelled."""
        from transformers.models.diffusion_gemma.generation_diffusion_gemma import (
            EntropyBoundSampler,
            EntropyBoundSamplerConfig,
            LinearTemperatureScheduleLogitsProcessor,
            StableAndConfidentStoppingCriteria,
        )

        s = self.settings
        steps_cap = max(1, cfg.max_steps)
        b, c = init.shape
        width = c + fixed.shape[1]
        vocab = self.model_vocab
        slot_bias, first_bias = self.slot_biases(allowed_first)
        pin = PinLogits(c, fixed, slot_bias, first_bias)
        # transformers' own pieces of the DiffusionGemma loop (typed Any: they want LongTensors).
        schedule: Any = LinearTemperatureScheduleLogitsProcessor(s["t_min"], s["t_max"], steps_cap)
        bound = EntropyBoundSamplerConfig(entropy_bound=s["entropy_bound"])
        sampler: Any = EntropyBoundSampler(bound, canvas_length=width, vocab_size=vocab,
                                           max_denoising_steps=steps_cap)
        stopper: Any = StableAndConfidentStoppingCriteria(int(s["stability_threshold"]),
                                                          s["confidence_threshold"])

        def noise(shape: tuple[int, ...]) -> torch.Tensor:
            return torch.randint(0, vocab, shape, generator=gen, device=self.device)

        x = torch.cat([torch.where(init == self.ids.mask, noise((b, c)), init), fixed], 1)  # (B, L)
        argmax = x.clone()
        raw_last = torch.zeros(b, width, vocab, device=self.device)
        self_conditioning: torch.Tensor | None = None
        finished = torch.zeros(b, dtype=torch.bool, device=self.device)
        embed_dtype = self.model.model.decoder.embed_tokens.weight.dtype
        for step, remaining in enumerate(reversed(range(1, steps_cap + 1))):
            status = poll()
            if status == "cancel":
                return None
            if status == "expire":
                if step > 0:
                    state["hurried"] = True
                    break
                if state["steps"] == 0:
                    raise Expired()
            raw = self.decode(x, cache, start, self_conditioning)  # (B, L, V)
            state["steps"] += 1
            processed = schedule(None, pin(raw), remaining)
            probs = torch.softmax(processed, -1)
            sampled = torch.multinomial(probs.view(-1, vocab), 1, generator=gen).view(b, width)
            new_argmax = processed.argmax(-1)
            accepted = sampler.accept_canvas(x, sampled, processed, remaining)
            # Re-noise what was not accepted (the stock rule), with our seeded generator.
            new_x = torch.where(sampler.accepted_token_mask, accepted, noise((b, width)))
            new_x[:, c:] = fixed  # the pin: fixed tokens never change
            if finished.any():  # finished rows keep their state, as in the stock loop
                keep = finished[:, None]
                new_argmax = torch.where(keep, argmax, new_argmax)
                new_x = torch.where(keep, x, new_x)
                processed = torch.where(keep[..., None], self_conditioning.float(), processed)  # type: ignore[union-attr]
                raw = torch.where(keep[..., None], raw_last, raw)
            finished |= stopper(new_argmax[:, :c], processed[:, :c])
            x, argmax, raw_last = new_x, new_argmax, raw
            self_conditioning = processed.to(embed_dtype)
            if status == "expire" or bool(finished.all()):
                state["hurried"] = state["hurried"] or status == "expire"
                break
        tokens = argmax[:, :c]
        logp = torch.log_softmax(pin(raw_last)[:, :c], -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        return tokens, logp.clamp_min(-1e4).sum(-1)

    # --- one forward pass for the mask-path tools (pseudo-likelihood scoring) -------------

    @torch.no_grad()  # not inference_mode: callers edit the returned logits in place
    def torch_logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        """Logits (B, K, V_tok) at positions; the decoder sees masked slots as random tokens.

        The canvas is split at the first requested position: the part before goes to the
        encoder, the rest (up to one canvas) to the decoder.
        """
        start = int(positions.min())
        gen = torch.Generator(device=self.device).manual_seed(0)
        out = torch.zeros(*positions.shape, self.vocab)
        groups: dict[int, list[int]] = defaultdict(list)
        for r, length in enumerate(attention.sum(-1).tolist()):
            groups[int(length)].append(r)
        for length, rows in groups.items():
            sub = canvas[rows, :length].to(self.device)
            cache = self.new_cache()
            at = self.encode(self.prefix_ids(sub[:, :start]), cache, 0)
            body = sub[:, start : start + self.canvas_length]
            noise = torch.randint(0, self.model_vocab, body.shape, generator=gen, device=self.device)
            body = torch.where(body == self.ids.mask, noise, body)
            raw = self.fit(self.decode(body, cache, at, None))  # (B, L, V_tok)
            rel = (positions[rows].to(self.device) - start).clamp(max=body.shape[1] - 1)
            out[rows] = torch.gather(raw, 1, rel.unsqueeze(-1).expand(-1, -1, raw.shape[-1])).cpu()
        return out
