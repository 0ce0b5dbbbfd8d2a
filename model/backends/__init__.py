"""Denoisers for open-weights model families, one module per family.

- `masked_lm`: any `AutoModelForMaskedLM` (ModernBERT, CodeBERT, ...) as a one-step denoiser
  that `infill.sampler` iterates.
- `dream`: Dream / DiffuCoder (bidirectional Qwen2, logits shifted right by one) and DreamOn
  (adds expand/delete tokens, so it runs its own step loop).
- `llada`: LLaDA (Llama-like masked predictor, unshifted logits, its own mask id).
- `diffusion_gemma`: transformers' `DiffusionGemmaForBlockDiffusion` (uniform-state noise,
  prefix in the encoder's KV cache, its own step loop with the suffix pinned).

`diffill.model.loading.load_denoiser` picks the family from a checkpoint's config.json; the
modules import torch and transformers, so import them only when a model is loaded.
"""
