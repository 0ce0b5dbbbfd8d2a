"""The infill engine: one entry point from (text, hole) to ranked edits.

The CLI, the evaluation harness and the language server all call `InfillEngine.fill`, so
what CI measures is what editors get. Steps: plan the hole from syntax, build the canvas
(token healing, context budgets), denoise (n candidates in one batch; long holes block by
block), post-process, validate with tree-sitter and rank by (syntax ok, log-probability).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from diffill.model.denoiser import Bools, Denoiser, Floats, Tokens
from diffill.model.threads import share_cores

from . import postprocess
from .api import Cancelled, Candidate, FillRequest, FillResult, SamplerConfig, StopSignal
from .canvas import CanvasPlan, HealingIndex, aligned_batch, batch_canvases, build_canvas
from .class_scope import renamed_attributes
from .drafts.analogy import analogous_lines
from .drafts.bindings import binding_drafts
from .drafts.buffer import buffer_draft_matches, buffer_drafts
from .drafts.copy_floor import copy_continuation
from .drafts.corpus_index import BackgroundIndex
from .drafts.names import attribute_drafts, name_drafts, parameter_drafts
from .drafts.ngram import NgramProposer
from .drafts.scope import scope_drafts
from .line_candidates import Hole, Pool, masked_prior
from .module_members import ModuleMembers
from .ranking import Features, Ranker, default_ranker
from .requests import hole_plan
from .sampler import SampleResult, WarmStart, denoise
from .scoring_process import PendingPass, ScoringProcess, request_of
from .seeding import (
    VERIFY_REMASK_BELOW,
    length_normalized,
    pseudo_log_likelihood,
    remask_least_likely,
    seeded_rows,
    slot_tokens,
)
from .syntax import HoleKind, HolePlan, error_count, syntax_window

SCORING_PROCESS_PATIENCE_S = 10  # a scoring pass takes ~40 ms; this long means the process hung
NGRAM_PROPOSALS = 6  # lines the n-gram proposer adds to a single-line hole's candidates
# A candidate at least this likely before the denoiser's own line joins is not outranked by it:
# skipping the loop there (a fifth to a quarter of holes) changed no answer on the development,
# held-out and smoke holes (docs/BENCHMARKS.md, sixth session).
SURE_WITHOUT_OWN_LINE = 0.5

log = logging.getLogger(__name__)

__all__ = ["Candidate", "Cancelled", "FillRequest", "FillResult", "InfillEngine", "StopSignal"]


class InfillEngine:
    """Owns a denoiser and fills holes; not thread-safe (one worker owns it)."""

    def __init__(self, denoiser: Denoiser, cache_size: int = 256, corpus: BackgroundIndex | None = None,
                 ranker: Ranker | None = None, members: ModuleMembers | None = None) -> None:
        self.denoiser = denoiser
        self.healing = HealingIndex(denoiser.tokenizer)
        self.cache: OrderedDict[str, FillResult] = OrderedDict()
        self.cache_size = cache_size
        # The corpus index loads in the background; until then the n-gram uses the file alone.
        self.corpus = corpus
        self.ngram = NgramProposer(denoiser.tokenizer, denoiser.ids.eos)
        self.ranker = ranker or default_ranker()
        # What imported modules define, read from installed source once per module; the
        # projects the corpus leaves out (an evaluation's) are not read either.
        self.members = members or ModuleMembers(corpus.exclude if corpus is not None else ())
        # Runs line holes' scoring passes beside the draft proposers (start_scoring_process).
        self.scorer: ScoringProcess | None = None
        self.scoring_patience_s = SCORING_PROCESS_PATIENCE_S

    def start_scoring_process(self) -> bool:
        """Score line holes in a second process from now on (for a long-lived engine).

        Only for the numpy forward of a local checkpoint, on a POSIX machine with a second
        core, and unless DIFFILL_SCORING_PROCESS=0. The two processes split the cores
        (`share_cores`) unless DIFFILL_THREADS says otherwise. Returns whether it runs.
        """
        d = self.denoiser
        path = getattr(d, "path", None)
        if (self.scorer is not None or getattr(d, "native", None) is None or not isinstance(path, Path)
                or (os.cpu_count() or 1) < 2 or os.name != "posix"  # the pipe protocol is POSIX's
                or os.environ.get("DIFFILL_SCORING_PROCESS", "1") == "0"):
            return self.scorer is not None
        self.scorer = ScoringProcess(path, threads=share_cores(2))  # this process and the child
        return True

    def close(self) -> None:
        """End the scoring process, if one runs (an engine being replaced)."""
        if self.scorer is not None:
            self.scorer.close()
            self.scorer = None

    def plan(self, req: FillRequest) -> HolePlan:
        if req.kind is None and req.end is not None and req.end > req.start:
            return HolePlan(HoleKind.RANGE, multiline=True)
        return hole_plan(req.text, req.start, req.language, req.kind)  # as the request builder plans

    def budget(self, req: FillRequest, plan: HolePlan) -> int:
        if req.slots is not None:
            return req.slots
        if plan.kind == HoleKind.RANGE:
            end = req.end if req.end is not None else req.start
            n_old = len(self.denoiser.tokenizer.encode(req.text[req.start : end]).ids)
            return min(self.denoiser.block_budget, max(8, int(n_old * 1.5) + 4))
        if plan.multiline:
            return self.denoiser.block_budget
        return self.denoiser.line_budget

    def canvas_plan(self, plan: HolePlan, slots: int) -> CanvasPlan:
        """The canvas for a hole: the checkpoint's line canvas for a line whose slots fit it.

        The shipped model's line canvas is shorter than its training canvas and gives the
        suffix more room: faster, and as good on the development repositories (MODEL_CARD.md).
        """
        d = self.denoiser
        if not plan.multiline and slots <= d.line_canvas // 2:
            return CanvasPlan(slots, d.line_canvas, suffix_share=d.line_suffix_share)
        return CanvasPlan(slots, d.max_canvas)

    def fill(self, req: FillRequest, stop: StopSignal | None = None) -> FillResult:
        """Fill the hole; raises Cancelled if stop fires before a result is complete."""
        t0 = time.perf_counter()
        end = req.start if req.end is None else req.end
        if not 0 <= req.start <= end <= len(req.text):
            raise ValueError(f"hole {req.start}..{end} is outside the text (length {len(req.text)})")
        plan = self.plan(req)
        slots = self.budget(req, plan)
        key = self.cache_key(req, plan, slots, end)
        if key in self.cache:
            self.cache.move_to_end(key)
            return replace(self.cache[key], cached=True, ms=(time.perf_counter() - t0) * 1000)

        if not plan.multiline and req.draft_policy in ("off", "prefer"):
            result = self.fill_line(req, plan, slots, end, stop)  # propose, describe, rank, show
        else:
            result = self.fill_block(req, plan, slots, end, stop)  # drafts, denoise, validate
        result.ms = (time.perf_counter() - t0) * 1000
        if not result.hurried and not result.partial:
            self.remember(key, result)  # a fill the deadline cut is not what more time would give
        return result

    def fill_block(self, req: FillRequest, plan: HolePlan, slots: int, end: int,
                   stop: StopSignal | None) -> FillResult:
        """A block, a range rewrite, or a line under the score/verify draft policies.

        Drafts first (under "prefer"), then the denoiser block by block; each candidate is
        cleaned and its syntax compared with the text without it; ranked by (syntax ok,
        drafts in match order, model log-probability). Only range rewrites are shown: blocks and
        these lines have no calibrated ranker.
        """
        after = req.text[end:]
        line_start = req.text.rfind("\n", 0, req.start) + 1
        at_line_start = not req.text[line_start : req.start].strip()
        candidates: list[Candidate] = []
        seen: dict[str, Candidate] = {}
        # Validation parses the region around the hole, once without a fill and once per
        # candidate; the whole of a large file would cost tens of milliseconds each.
        lo, hi = syntax_window(req.text, req.start, end)
        errors_before = error_count(req.text[lo:hi], req.language)

        # At the start of a line that holds code the fill is a new line before that code; a
        # draft is the rest of some other line, so it needs the newline the model would write.
        new_line_before_code = at_line_start and bool(postprocess.rest_of_line(after, 0).strip())

        def add(texts: list[str], logprobs: list[float], sources: list[str]) -> None:
            for raw, lp, source in zip(texts, logprobs, sources, strict=True):
                if source == "draft" and new_line_before_code and not raw.endswith("\n"):
                    raw += "\n"
                fill = self.clean(raw, plan, after, at_line_start, req.text, req.start,
                                  old=req.text[req.start : end] if plan.kind is HoleKind.RANGE else None)
                if fill is None or (req.forbidden and req.forbidden in fill):
                    continue
                if fill in seen:
                    if source == "draft":  # a draft wrote it too: "model" means the model alone, as for lines
                        seen[fill].source = "draft"
                    continue
                filled = req.text[lo : req.start] + fill + req.text[end:hi]
                errors_after = error_count(filled, req.language) if errors_before is not None else None
                ok = errors_before is None or errors_after is None or errors_after <= errors_before
                seen[fill] = Candidate(fill, lp, ok, source)
                candidates.append(seen[fill])

        # Block holes take drafts too: a copied line often is the whole body (`return -1`
        # after `if x > y:`), and this model's own blocks rarely match.
        prefer_drafts = req.draft_policy == "prefer" and plan.kind is not HoleKind.RANGE
        if prefer_drafts:
            # Drafts first, in match order (longest context match first), then the model's.
            drafts = self.drafts(req, end)
            add(drafts, [0.0] * len(drafts), ["draft"] * len(drafts))
        steps, tokens_per_forward, hurried = 0, 0.0, False
        # Syntax-valid drafts outrank every model fill under "prefer": with enough of them
        # the denoiser could not change the answer, so it does not run.
        if not prefer_drafts or sum(c.syntax_ok for c in candidates) < max(1, req.n):
            texts, logprobs, steps, tokens_per_forward, hurried = self.denoise_blocks(
                req, plan, slots, end, stop)
            n_model = max(1, req.n)
            add(texts, logprobs, ["model"] * n_model + ["draft"] * (len(texts) - n_model))

        def rank(item: tuple[int, Candidate]) -> tuple[bool, int, float]:
            i, c = item
            if prefer_drafts and c.source == "draft":
                return (c.syntax_ok, 1, -i)  # drafts above model fills, in match order
            return (c.syntax_ok, 0, c.logprob)

        candidates = [c for _, c in sorted(enumerate(candidates), key=rank, reverse=True)]
        if plan.kind is not HoleKind.RANGE:
            # Blocks have no calibrated ranker yet and none of their fills, drafts included,
            # matched on the held-out repositories (MODEL_CARD.md): the engine abstains.
            # `diffill fill` and eval still report them, marked.
            for c in candidates:
                c.shown, c.confidence = False, 0.0
        return FillResult(start=req.start, end=end, kind=plan.kind, candidates=candidates[: req.n],
                          steps=steps, tokens_per_forward=tokens_per_forward, hurried=hurried)


    def remember(self, key: str, result: FillResult) -> None:
        self.cache[key] = result
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def fill_line(self, req: FillRequest, plan: HolePlan, slots: int, end: int,
                  stop: StopSignal | None) -> FillResult:
        """A single-line hole: propose from every source, describe, rank, show or abstain."""
        pool, result = self.line_pool(req, plan, slots, end, stop)
        n = max(1, req.n)
        default = self.ranker.show_at_in_line if pool.hole.code_after else self.ranker.show_at
        show_at = default if req.min_confidence is None else req.min_confidence
        # Admissible candidates first (Features.admissible): one that breaks its own statement
        # or names what its scope never defines is rarely right, and is never shown.
        # Each candidate's probability is its share against its rivals and "none is right".
        probabilities = self.ranker.probabilities(list(pool.items.values()))
        ranked = zip(probabilities, pool.items.items(), strict=True)
        scored = sorted(((p, i, text, f) for i, (p, (text, f)) in enumerate(ranked)),
                        key=lambda x: (not x[3].admissible(), -x[0], x[1]))
        candidates = [
            Candidate(text, f.denoiser, f.syntax_ok, "model" if f.model and f.sources == 1 else "draft",
                      confidence=round(p, 4), shown=p >= show_at and (f.admissible() or show_at == 0))
            for p, _, text, f in scored[:n]
        ]
        # A typed request gives way when the fill is hurried: only when the cut line was all.
        whole = any(f.admissible() for f in pool.items.values()) and not result.slots
        return FillResult(start=req.start, end=end, kind=plan.kind, candidates=candidates,
                          steps=result.steps, tokens_per_forward=result.tokens_per_forward,
                          hurried=result.hurried and not whole, partial=result.hurried and whole)

    def line_pool(self, req: FillRequest, plan: HolePlan, slots: int, end: int,
                  stop: StopSignal | None) -> tuple[Pool, SampleResult]:
        """Every source's candidates for a single-line hole, described; and the denoiser's run."""
        d = self.denoiser
        hole = Hole.of(req.text, req.start, end, req.language, self.members)
        after = req.text[end:]
        # A lone ":" or ")" is often exactly the rest of a line; the ranker judges it.
        pool = Pool(hole, lambda raw: self.clean(raw, plan, after, hole.at_line_start, req.text, req.start,
                                                 drop_noise=False), req.forbidden)
        # A draft is the rest of some other line; at the start of a line that holds code the
        # fill is a new line before that code, so it needs the newline the model would write.
        newline = "\n" if hole.at_line_start and hole.rest.strip() else ""
        cv = build_canvas(d.tokenizer, d.ids, req.text, req.start, end,
                          self.canvas_plan(plan, slots))
        ids, attention = batch_canvases([cv.ids], d.ids.pad)
        allowed = self.healing.allowed(cv.healed) if cv.healed else None
        # The denoiser writes one line, greedily, however many candidates were asked for: the
        # ranker was fitted on such pools, and sampled lines would change every candidate's
        # share (a pool-relative probability) and push the greedy line out. The other sources
        # give the alternatives. With drafts off the model is the only source: its greedy line
        # and n - 1 sampled ones (the greedy one runs alone: a batch changes its step cache).
        rows = max(1, req.n) if req.draft_policy == "off" else 1
        sampled = rows - 1 if keeps_greedy(req, rows) else 0
        sampler = line_sampler(req, rows - sampled)
        # The scoring pass needs no candidate: in the scoring process it runs while the drafts
        # and the n-gram are proposed here, and the hole is read for describing (even with
        # drafts off, that reading costs about as much as the pass).
        scoring = None
        if self.scorer is not None:
            # The denoiser's own line is wanted whatever the pass says: the loop follows the
            # pass there at once, while the drafts are proposed here.
            wanted = request_of(d.forbidden, ids, attention, cv.slot_positions, allowed,
                                sampler.refresh_every)
            scoring = self.scorer.submit(wanted, self.scoring_patience_s, (rows - sampled, sampler, stop))
        try:
            self.propose_drafts(req, pool, newline, end, stop)
            if stop is not None and stop.expired():
                raise Cancelled()  # out of time before the denoiser ran: give way, show nothing
            if scoring is not None and not scoring.done():
                hole.prepare()  # while the pass finishes elsewhere; describe needs it anyway
            prior, warm = self.scored(scoring, ids, attention, cv.slot_positions, allowed,
                                      sampler.refresh_every)
            pool.describe(d, prior, cv.healed)
            self.score_lead_in(req, pool, end, stop)
            # The denoiser's own line joins every hole's candidates: it is the one source that
            # writes a line nothing nearby holds (`return f.read()` under `with open(p) as f:`),
            # and the ranker weighs it against the drafts (MODEL_CARD.md, "The denoiser's own line").
            others = any(f.admissible() for f in pool.items.values())
            if others and self.sure_without_own_line(pool):
                # Its line would not change the answer (docs/BENCHMARKS.md): its loop is
                # cancelled in the helper (finally) or never run here.
                return pool, SampleResult(slots=[], logprob=[], steps=1, committed=0, ms=0.0)
            try:
                result = self.own_lines(ids, attention, cv.slot_positions, sampler, stop, allowed, warm,
                                        rows - sampled)
                if sampled:
                    result = joined(result, denoise(d, np.repeat(ids, sampled, axis=0),
                                                    np.repeat(attention, sampled, axis=0), cv.slot_positions,
                                                    line_sampler(req, rows), stop, allowed))
            except Cancelled:
                if stop is None or stop.cancelled():
                    raise
                # Out of time before the loop's first step: the other candidates stand, if any.
                return pool, SampleResult(slots=[], logprob=[], steps=1, committed=0, ms=0.0, hurried=True)
            result.steps += 1  # the scoring pass, which was also the loop's first step
            if result.hurried and others:
                # Cut by the deadline, its line is rough and not offered; the other candidates
                # are whole (fill_line: the fill is partial, not hurried).
                return pool, replace(result, slots=[], logprob=[])
            lines = [self.decode_slots(slot_ids, cv.healed) for slot_ids in result.slots]
            pool.offer_model_lines(lines, d, prior, cv.healed)
            self.score_lead_in(req, pool, end, stop)
            return pool, result
        finally:
            if scoring is not None:
                scoring.abandon()  # cancelled or failed before its loop was read: that loop stops

    def sure_without_own_line(self, pool: Pool) -> bool:
        """Whether an admissible candidate is sure enough that the denoiser's line is not awaited."""
        features = list(pool.items.values())
        return any(p >= SURE_WITHOUT_OWN_LINE and f.admissible()
                   for p, f in zip(self.ranker.probabilities(features), features, strict=True))

    def own_lines(self, ids: Tokens, attention: Tokens, positions: list[int], sampler: SamplerConfig,
                  stop: StopSignal | None, allowed: Bools | None, warm: WarmStart, n: int) -> SampleResult:
        """The denoising loop from the scoring pass: where that pass ran (its cache is there), else here."""
        if warm.elsewhere is not None:
            try:
                return warm.elsewhere(n, sampler, stop, self.scoring_patience_s)
            except RuntimeError as exc:  # failed, ended or hung: the loop runs here, without the cache
                log.warning("%s; denoising in-process", exc)
                if self.scorer is not None and self.scorer.broken:
                    self.close()
        return denoise(self.denoiser, np.repeat(ids, n, axis=0), np.repeat(attention, n, axis=0), positions,
                       sampler, stop, allowed, warm)

    def scored(self, scoring: PendingPass | None, ids: Tokens, attention: Tokens,
               positions: list[int], allowed: Bools | None, refresh_every: int) -> tuple[Floats, WarmStart]:
        """The scoring pass: the process's answer, or this thread's when it has none."""
        if scoring is not None:
            try:
                return scoring.result(timeout=self.scoring_patience_s)
            except RuntimeError:
                pass  # the process failed or ended: score here, as without it
            except TimeoutError:  # hung (a pass takes ~40 ms): end it, never wait on it again
                log.warning("the scoring process did not answer in %d s; scoring in-process from now on",
                            self.scoring_patience_s)
                self.close()
        return masked_prior(self.denoiser, ids, attention, positions, allowed, refresh_every)

    def score_lead_in(self, req: FillRequest, pool: Pool, end: int, stop: StopSignal | None) -> None:
        """The n-gram's lead_in for the candidates that lack it (drafts off: the model alone, none)."""
        if req.draft_policy == "off":
            return
        fills = [fill for fill, f in pool.items.items() if f.lead_in is None]
        stopped = stop.fired if stop else None
        scores = self.ngram.lead_in(req.text[: req.start], fills, req.text[end:], stopped)
        if None in scores:  # stopped: a gap against unscored rivals would mislead, so none has one
            for f in pool.items.values():
                f.lead_in = None
            return
        for fill, score in zip(fills, scores, strict=True):
            pool.items[fill].lead_in = score

    def propose_drafts(self, req: FillRequest, pool: Pool, newline: str, end: int,
                       stop: StopSignal | None) -> None:
        """Offer every draft source's lines to the pool (none under the "off" policy)."""
        if req.draft_policy == "off":
            return
        prefix, suffix = req.text[: req.start], req.text[end:]
        if (f := pool.offer(copy_continuation(prefix, suffix) + newline)) is not None:
            f.copy = True
        for rank, (draft, chars) in enumerate(buffer_draft_matches(prefix, suffix)):
            if (f := pool.offer(draft + newline)) is not None:
                f.draft_chars, f.draft_rank = max(f.draft_chars, chars), min(f.draft_rank, rank)
        for rank, draft in enumerate(dict.fromkeys(req.extra_drafts)):
            if (f := pool.offer(draft + newline)) is not None:
                f.workspace, f.workspace_top = True, f.workspace_top or rank == 0
        self.propose_shaped(req, pool, newline, end, req.start)
        if word := pool.hole.word:
            # Inside a name being typed (`    re|`, `f(na|`) the sources that read the shape of
            # the line see no line start and no argument start; at the name's start they do,
            # and their lines that go on with what was typed are what is left to write.
            self.propose_shaped(req, pool, newline, end, req.start - len(word), typed=word)
        self.ngram.corpus = self.corpus.get() if self.corpus is not None else None
        proposals = self.ngram.propose(prefix, suffix, NGRAM_PROPOSALS, stop.fired if stop else None)
        if stop is not None and stop.cancelled():
            raise Cancelled()
        for rank, prop in enumerate(proposals):
            if (f := pool.offer(prop.text + newline)) is not None and f.ngram_rank == 9:
                f.ngram, f.ngram_rank, f.ngram_order = prop.logprob, rank, prop.min_order
        self.propose_renamed(pool)

    @staticmethod
    def propose_renamed(pool: Pool) -> None:
        """Offer the candidates that name another class's attribute with this class's instead."""
        if not any("self." in fill for fill in pool.items):
            return
        hole = pool.hole
        for fill in list(pool.items):
            if "self." in fill:
                for variant in renamed_attributes(fill, hole.attributes, hole.recent_attributes):
                    if (f := pool.offer(variant)) is not None:
                        f.renamed = True

    def propose_shaped(self, req: FillRequest, pool: Pool, newline: str, end: int, start: int,
                       typed: str = "") -> None:
        """Offer the drafts read from the shape around a cursor at start: analogies, names, scope.

        typed: the text between start and the request's cursor; only drafts that begin with
        it are offered, without it.
        """
        def offer(draft: str) -> Features | None:
            if not typed:
                return pool.offer(draft)
            return pool.offer(draft[len(typed) :]) if draft.startswith(typed) and draft != typed else None

        prefix, suffix = req.text[:start], req.text[end:]
        for analogy in analogous_lines(prefix, suffix):
            if (f := offer(analogy.text + newline)) is not None:
                f.analogy = True
                f.analogy_matched = max(f.analogy_matched, analogy.matched)
                f.analogy_after = max(f.analogy_after, analogy.after)
        # The hole's names in scope, read once: its candidates are judged by them too.
        scope = pool.hole.names_in_scope
        for rank, name in enumerate(name_drafts(req.text, start, end, scope)):
            if (f := offer(name)) is not None:
                f.name_rank = min(f.name_rank, rank)
        if req.text[start - 5 : start] == "self.":
            for rank, name in enumerate(attribute_drafts(req.text, start, end, pool.hole.recent_attributes)):
                if (f := offer(name)) is not None:
                    f.attribute_rank = min(f.attribute_rank, rank)
        for draft in parameter_drafts(req.text, start, end, lambda: pool.hole.body):
            if (f := offer(draft)) is not None:
                f.parameters = True
        kinds: dict[str, int] = {}
        for draft, kind in scope_drafts(req.text, start, end).items():
            rank = kinds[kind] = kinds.get(kind, -1) + 1
            if (f := offer(draft)) is not None:
                f.scope, f.scope_rank = kind, min(f.scope_rank, rank)
        # Lines binding what the code below needs but nothing binds (`for item in items:`).
        for rank, draft in enumerate(binding_drafts(req.text, start, end, pool.hole.needed, scope)):
            if (f := offer(draft)) is not None and not f.scope:
                f.scope, f.scope_rank = "binds", rank

    def cache_key(self, req: FillRequest, plan: HolePlan, slots: int, end: int) -> str:
        # The canvas only sees a window of the text, but hashing the window would mean
        # tokenizing first; the text around the hole is a cheap, safe proxy.
        window = 4096
        h = hashlib.sha256()
        for part in (
            req.text[max(0, req.start - window) : req.start],
            "\x00",
            req.text[req.start : end],
            "\x00",
            req.text[end : end + window],
            f"\x00{plan.kind}{slots}{req.n}{req.sampler}{req.max_blocks}{req.draft_policy}{req.strength}{req.forbidden}{req.min_confidence}",
            "\x00".join(req.extra_drafts),
        ):
            h.update(part.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def denoise_blocks(
        self, req: FillRequest, plan: HolePlan, slots: int, end: int, stop: StopSignal | None
    ) -> tuple[list[str], list[float], int, float, bool]:
        """Raw fill texts of every candidate; long holes continue canvas by canvas.

        Returns (texts, scores, forward passes, tokens per denoising pass and row, hurried).
        """
        d = self.denoiser
        n = max(1, req.n)
        sampler, greedy_first = candidate_sampler(req), keeps_greedy(req, n)
        texts = [""] * n
        logprobs = [0.0] * n
        done = [False] * n
        steps = committed = slot_passes = 0
        hurried = False
        text = req.text[: req.start] + req.text[end:]
        for block in range(req.max_blocks if plan.multiline else 1):
            rows = [i for i in range(n) if not done[i]]
            canvases, healed = [], []
            for i in rows:
                # Previous blocks' output becomes fixed prefix for the next block.
                cursor = req.start + len(texts[i])
                full = text[: req.start] + texts[i] + text[req.start :]
                cv = build_canvas(d.tokenizer, d.ids, full, cursor, cursor,
                                  self.canvas_plan(plan, slots), heal=block == 0)
                canvases.append(cv)
                healed.append(cv.healed)
            # Rows differ in prefix length from the second block on: align their slots.
            ids, attention, positions = aligned_batch(canvases, d.ids.pad)
            allowed = None
            if healed[0]:
                allowed = self.healing.allowed(healed[0])
            block_sampler = replace(sampler, seed=sampler.seed + block)
            verified = 0
            if block == 0 and plan.kind == HoleKind.RANGE and req.strength < 1.0:
                steps += self.seed_old_text(req, end, ids, attention, positions, healed[0])
            elif block == 0 and req.draft_policy == "verify" and not plan.multiline:
                ids, attention, verified = self.add_draft_rows(req, end, ids, attention, positions, healed[0])
                # Draft slots the model doubts are masked again and refilled.
                block_sampler = replace(
                    block_sampler, remask_below=max(block_sampler.remask_below, VERIFY_REMASK_BELOW),
                    max_remasks=block_sampler.max_remasks * ids.shape[0])
            if greedy_first and rows[0] == 0 and len(rows) > 1:
                # Row 0 and the drafts being verified stay greedy, as with one candidate; they
                # run apart from the sampled rows (in one batch their step caches would differ).
                greedy = replace(block_sampler, temperature=req.sampler.temperature, top_p=req.sampler.top_p)
                kept = [0, *range(len(rows), ids.shape[0])]
                result, first_steps = split_denoise(d, ids, attention, positions, kept, greedy, block_sampler,
                                                    stop, allowed)
                slot_passes += first_steps + (result.steps - first_steps) * (len(rows) - 1)
            else:
                result = denoise(d, ids, attention, positions, block_sampler, stop, allowed)
                slot_passes += result.steps * len(rows)
            steps += result.steps
            committed += result.committed
            hurried = hurried or result.hurried
            if block == 0 and req.draft_policy == "score" and not plan.multiline and not hurried:
                if stop is not None and stop.cancelled():
                    raise Cancelled()
                draft_texts, draft_scores, model_scores = self.score_with_drafts(
                    req, end, ids, attention, positions, healed[0])
                if draft_texts:
                    result.logprob = model_scores
                    texts.extend(draft_texts)
                    logprobs.extend(draft_scores)
                    steps += 1
            if verified:
                # Every row, the model's and the verified drafts', ranked by one measure.
                if stop is not None and stop.cancelled():
                    raise Cancelled()
                slot_logp = pseudo_log_likelihood(d, ids, attention, positions)
                result.logprob = length_normalized(slot_logp, ids[:, positions], d.ids.null)
                steps += 1
                for row in range(len(rows), ids.shape[0]):
                    texts.append(self.decode_slots(result.slots[row], healed[0]))
                    logprobs.append(result.logprob[row])
            for row, i in enumerate(rows):
                slot_ids = result.slots[row]
                texts[i] += self.decode_slots(slot_ids, healed[row])
                logprobs[i] += result.logprob[row]
                # The hole ended inside this canvas when its last slot is null.
                if slot_ids[-1] == d.ids.null or not plan.multiline:
                    done[i] = True
            if all(done):
                break
        return texts, logprobs, steps, committed / max(slot_passes, 1), hurried

    def decode_slots(self, slot_ids: list[int], healed: str) -> str:
        """A row's fill text: content slots decoded, the healed prefix text taken off."""
        content = [t for t in slot_ids if t != self.denoiser.ids.null]
        piece = self.denoiser.tokenizer.decode(content) if content else ""
        return piece[len(healed) :] if healed and piece.startswith(healed) else piece

    def seed_old_text(
        self, req: FillRequest, end: int, ids: Tokens, attention: Tokens,
        positions: list[int], healed: str,
    ) -> int:
        """Range rewrite at strength < 1: slots start as the old text, the doubted share masked.

        Returns the forward passes spent.
        """
        d = self.denoiser
        tokens = d.tokenizer.encode(healed + req.text[req.start : end]).ids
        seed = slot_tokens(tokens, len(positions), d.ids.null)
        if seed is None:
            raise ValueError(
                f"the range is {len(tokens)} tokens, more than the {len(positions)} slots a partial "
                "rewrite can start from; use strength 1 or a smaller range")
        ids[:, positions] = seed
        return remask_least_likely(d, ids, attention, positions, req.strength)

    def add_draft_rows(
        self, req: FillRequest, end: int, ids: Tokens, attention: Tokens,
        positions: list[int], healed: str,
    ) -> tuple[Tokens, Tokens, int]:
        """The canvas batch plus one row per draft that fits (slots seeded with it); the count."""
        d = self.denoiser
        seeds: list[list[int]] = []
        for draft in self.drafts(req, end):
            tokens = d.tokenizer.encode(healed + draft).ids
            seed = slot_tokens(tokens, len(positions), d.ids.null)
            if seed is not None and (not healed or d.tokenizer.decode(tokens[:1]).startswith(healed)):
                seeds.append(seed)
        if not seeds:
            return ids, attention, 0
        rows = seeded_rows(ids[0], positions, seeds)
        more_attention = np.repeat(attention[:1], len(seeds), axis=0)
        return np.concatenate([ids, rows]), np.concatenate([attention, more_attention]), len(seeds)

    def score_with_drafts(
        self, req: FillRequest, end: int, filled: Tokens, attention: Tokens,
        positions: list[int], healed: str,
    ) -> tuple[list[str], list[float], list[float]]:
        """Drafts from the buffer, and pseudo-log-likelihoods of drafts and model fills.

        Returns (draft texts, draft scores, model-row scores); empty when there is no draft.
        """
        d = self.denoiser
        drafts = self.drafts(req, end)
        rows: list[Tokens] = []
        kept: list[str] = []
        for draft in drafts:
            tokens = d.tokenizer.encode(healed + draft).ids
            if len(tokens) > len(positions):
                continue
            row = filled[0].copy()
            row[positions] = tokens + [d.ids.null] * (len(positions) - len(tokens))
            rows.append(row)
            kept.append(draft)
        if not rows:
            return [], [], []
        canvases = np.concatenate([filled, np.stack(rows)])
        att = np.concatenate([attention, np.repeat(attention[:1], len(rows), axis=0)])
        slot_logp = pseudo_log_likelihood(d, canvases, att, positions)
        scores = length_normalized(slot_logp, canvases[:, positions], d.ids.null)
        n_model = filled.shape[0]
        return kept, scores[n_model:], scores[:n_model]

    @staticmethod
    def drafts(req: FillRequest, end: int) -> list[str]:
        """The buffer's drafts, then the caller's (other documents, the index), deduplicated."""
        found = buffer_drafts(req.text[: req.start], req.text[end:])
        return found + [d for d in dict.fromkeys(req.extra_drafts) if d not in found]

    @staticmethod
    def clean(
        raw: str, plan: HolePlan, after: str, at_line_start: bool, text: str, start: int,
        drop_noise: bool = True, old: str | None = None,
    ) -> str | None:
        """The fill as it goes into the text; old: a rewritten range's text (the fill keeps its shape)."""
        fill = raw
        if not plan.multiline:
            fill = postprocess.single_line(fill, postprocess.rest_of_line(after, 0), at_line_start)
        else:
            indent = postprocess.line_indent(text, start)
            fill = postprocess.reindent(fill, indent, at_line_start)
        fill = postprocess.drop_suffix_overlap(fill, after)
        if old is not None:
            fill = postprocess.fit_to_range(fill, old)
        if not fill.strip() or (drop_noise and plan.kind != HoleKind.RANGE and postprocess.is_noise(fill)):
            return None
        return fill


def candidate_sampler(req: FillRequest, rows: int | None = None) -> SamplerConfig:
    """The request's sampler for `rows` fills (its n by default); several from a greedy one would be alike."""
    if (req.n if rows is None else rows) > 1 and req.sampler.temperature == 0:
        return replace(req.sampler, temperature=0.7, top_p=0.95)
    return req.sampler


def keeps_greedy(req: FillRequest, rows: int) -> bool:
    """Whether the first of `rows` fills stays greedy while the others sample: the request is greedy.

    Asking for more candidates must not lose the fill one candidate gets.
    """
    return rows > 1 and req.sampler.temperature == 0


def split_denoise(d: Denoiser, ids: Tokens, attention: Tokens, positions: list[int], kept: list[int],
                  greedy: SamplerConfig, sampled: SamplerConfig, stop: StopSignal | None,
                  allowed: Bools | None) -> tuple[SampleResult, int]:
    """Rows `kept` denoised under `greedy`, the others under `sampled`; ids filled in place.

    Returns the rows' result in their order, and the passes the greedy rows took.
    """
    others = [i for i in range(ids.shape[0]) if i not in kept]
    parts = []
    for rows, cfg in ((kept, greedy), (others, sampled)):
        sub = ids[rows]  # a copy: written back below
        parts.append(denoise(d, sub, attention[rows], positions, cfg, stop, allowed))
        ids[rows] = sub
    first, rest = parts
    by_row = dict(zip(kept + others, zip(first.slots + rest.slots, first.logprob + rest.logprob, strict=True),
                      strict=True))
    merged = joined(first, rest)
    merged.slots = [by_row[i][0] for i in range(ids.shape[0])]
    merged.logprob = [by_row[i][1] for i in range(ids.shape[0])]
    return merged, first.steps


def joined(first: SampleResult, rest: SampleResult) -> SampleResult:
    """Two loops' rows as one result (their passes and time added up)."""
    return SampleResult(slots=first.slots + rest.slots, logprob=first.logprob + rest.logprob,
                        steps=first.steps + rest.steps, committed=first.committed + rest.committed,
                        ms=first.ms + rest.ms, hurried=first.hurried or rest.hurried)


def line_sampler(req: FillRequest, rows: int = 1) -> SamplerConfig:
    """The sampler for a single-line hole's own `rows` lines: at most line_max_steps passes."""
    sampler = candidate_sampler(req, rows)
    return replace(sampler, max_steps=min(sampler.max_steps, sampler.line_max_steps))


def fill_text(engine: InfillEngine, text: str, offset: int, **kwargs: object) -> str | None:
    """Convenience: the best fill at a cursor, or None."""
    try:
        return engine.fill(FillRequest(text=text, start=offset, **kwargs)).best  # type: ignore[arg-type]
    except Cancelled:
        return None


def load_engine(model: Path | None, device: str = "auto", dtype: str = "auto", *,
                trust_remote_code: bool = False, quantization: str | None = None,
                wait_for_corpus: bool = False, scoring_process: bool = False,
                corpus_exclude: Sequence[str] = (),
                on_corpus_build: Callable[[Path], None] | None = None) -> InfillEngine:
    """The engine on a checkpoint (None: the shipped model), as the CLI and the server build it.

    The corpus index loads (or is built once) in its own thread; wait_for_corpus waits for it
    (a one-shot CLI fill), else fills use the file and the workspace until it is ready (the
    server). DIFFILL_CORPUS_INDEX=0 runs without it. scoring_process: a long-lived engine (the
    server, eval) scores line holes in a second process (`start_scoring_process`).
    corpus_exclude: top-level modules the corpus index leaves out (an evaluation's projects).
    on_corpus_build: called with the cache folder if the corpus index has to be built.
    """
    from diffill.model.loading import load_denoiser

    denoiser = load_denoiser(model, device, dtype, trust_remote_code=trust_remote_code,
                             quantization=quantization)
    corpus = None
    if os.environ.get("DIFFILL_CORPUS_INDEX", "1") != "0":
        corpus = BackgroundIndex(denoiser.tokenizer, denoiser.ids.eos, exclude=corpus_exclude,
                                 on_build=on_corpus_build)
        if wait_for_corpus:
            corpus.get(None)
    engine = InfillEngine(denoiser, corpus=corpus, members=ModuleMembers(corpus_exclude))
    if scoring_process:
        engine.start_scoring_process()
    return engine
