"""SGL, small-to-large guidance ("A Stitch in Time Saves Nine", Zhao et al.; github.com/NUS-HPC-AI-Lab/SGL).

A smaller model of the same family answers the prompt first; the importance of each visual token is the
attention it received there, summed over all layers, heads and the query rows after the last visual token to
the end of the answer (``horizon/engine/guide.py``). At a stage at layer K of the large model (SGL's script:
``K = int(0.4·L)``, keep 0.4) the most important surviving tokens are kept. Original positions are kept.
The large model reads no attention, so it is flash-attention compatible; the guide's importance needs the
guide's attention rows (recomputed from q/k by horizon). Run with a guide: ``run(..., guide_importance=...)``
or ``horizon run --guide MODEL``. The paper uses SGL only in its information analysis (Fig. 5/12) and does
not say which model guides LLaVA-1.5-7B.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from horizon.methods.base import register_method
from horizon.methods.scoring import top_k_sorted
from horizon.methods.view import TokenView


@register_method(
    "sgl",
    needs=frozenset({"guide_importance"}),
    positions="original",
    flash_compatible=True,
    reference="Zhao et al., A Stitch in Time Saves Nine: Small VLM is a Precise Guidance (github.com/NUS-HPC-AI-Lab/SGL)",
)
def select_sgl(view: TokenView, keep: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    return top_k_sorted(view.guide_importance, keep)  # (B, keep)
