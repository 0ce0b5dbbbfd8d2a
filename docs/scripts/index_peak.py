"""Peak memory of building the corpus index: in the calling process, and in the child that builds it.

Builds the default index (standard library and site-packages) into a fresh temporary cache,
as the server's first start does, and prints the build time, the index's tokens and the
peak RSS of this process and of its children (the build runs in a child since the eighth
session: infill/drafts/index_child.py):

    python docs/scripts/index_peak.py     # about a minute on two cores
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time

from diffill.model.loading import load_denoiser


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["DIFFILL_CACHE"] = cache
        from diffill.infill.drafts.corpus_index import BackgroundIndex

        denoiser = load_denoiser(None, "cpu", "fp32")
        start = time.monotonic()
        index = BackgroundIndex(denoiser.tokenizer, denoiser.ids.eos).get(None)
        assert index is not None, "the index was not built"
        print(json.dumps({
            "tokens": len(index), "build_s": round(time.monotonic() - start, 1),
            "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}))


if __name__ == "__main__":
    main()
