"""``horizon list``: the models, methods, paper presets, benchmarks or protocols that exist."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from tabulate import tabulate

if TYPE_CHECKING:
    from horizon.benchmarks.base import Benchmark


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("list", help="list models, methods, presets, benchmarks or protocols")
    p.add_argument("what", choices=list(LISTS))


def cmd_list(args: argparse.Namespace) -> int:
    LISTS[args.what]()
    return 0


def list_models() -> None:
    from horizon.models.presets import MODELS

    rows = [
        (
            p.name,
            p.family,
            p.repo_id or ("(shipped: horizon/organism/weights)" if p.bundled else "(embedded, built locally)"),
            p.arch.layers,
            p.arch.hidden,
            p.arch.intermediate if not p.arch.moe else f"{p.arch.experts}x{p.arch.moe_intermediate} top-{p.arch.experts_per_token}",
            p.arch.heads,
            p.arch.kv_heads,
            p.arch.vocab,
            p.visual_tokens or "dynamic",
            f"{p.min_pixels}-{p.max_pixels}" if p.min_pixels else "",
        )
        for _, p in MODELS.items()
    ]
    # "inter": the MLP's width; a mixture of experts': experts x each expert's width, and how many each token uses
    cols = ["model", "family", "checkpoint", "layers", "hidden", "inter", "heads", "kv", "vocab", "visual", "pixels"]
    print(tabulate(rows, headers=cols))
    read = [(p.name, p.source) for _, p in MODELS.items() if p.source]
    print("\ngeometry: each real checkpoint's config.json" + (", except where it was read from a copy:" if read else ""))
    for name, source in read:
        print(f"  {name}: {source}")


def list_methods() -> None:
    from horizon.methods import METHODS
    from horizon.methods.plugins import method_source

    rows = [
        (
            m.name,
            ", ".join(sorted(m.needs)) or "nothing",
            m.positions,
            "yes" if m.flash_compatible else "no",
            m.min_layer,
            method_source(m),
            m.reference,
        )
        for _, m in METHODS.items()
    ]
    headers = ["method", "needs", "positions", "flash-attn", "min layer", "source", "reference"]
    print(tabulate(rows, headers=headers))


def headline_metric(bench: Benchmark) -> str:
    """The name of a benchmark's headline metric (the one place that reads the spec's metric field)."""
    return bench.headline


def list_benchmarks() -> None:
    from horizon.benchmarks.base import is_fallback
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.protocol import PAPER_PROTOCOL

    def paper_scorer(b: Benchmark) -> str:
        return "fallback: lmms-eval protocol's" if is_fallback(b.under(PAPER_PROTOCOL).scorer) else "the release's"

    table = [
        (b.name, b.dataset_id, b.config or "", b.split, headline_metric(b), b.max_new_tokens, paper_scorer(b), b.notes)
        for _, b in BENCHMARKS.items()
    ]
    print(tabulate(table, headers=["benchmark", "dataset", "config", "split", "metric", "max new tokens",
                                   "scorer under paper", "notes"]))  # fmt: skip
    print("Each benchmark's scorer and its source: `horizon eval` prints it, every record carries it (docs/protocol.md).")


def list_presets() -> None:
    from horizon.paper_presets import PAPER_PRESETS, RELEASED_PRESETS, provenance

    rows = [(n, str(s), provenance(n), str(RELEASED_PRESETS.get(n)) if n in RELEASED_PRESETS else "")
            for n, s in PAPER_PRESETS.items()]  # fmt: skip
    print(tabulate(rows, headers=["preset", "schedule (lmms-eval protocol)", "from", "released (paper protocol)"]))


def list_protocols() -> None:
    from horizon.protocol import PROTOCOLS

    rows = [(p.name, p.conversation, ", ".join(p.families) or "all", p.presets, p.seeds, p.summary)
            for _, p in PROTOCOLS.items()]  # fmt: skip
    print(tabulate(rows, headers=["protocol", "conversation", "families", "presets", "seeds", "conventions"]))
    print("\nEvery convention, its source and horizon's deviations: docs/protocol.md")


LISTS: dict[str, Callable[[], None]] = {
    "models": list_models,
    "methods": list_methods,
    "presets": list_presets,
    "benchmarks": list_benchmarks,
    "protocols": list_protocols,
}
