"""Conversations a question is wrapped in before the processor sees it (a protocol names one, horizon/protocol.py).

* ``chat-template``: the checkpoint's own chat template (``processor.apply_chat_template``).
* ``vicuna_v1``: LLaVA's ``conv_vicuna_v1`` (haotian-liu/LLaVA ``llava/conversation.py``, SeparatorStyle.TWO,
  sep " ", sep2 "</s>", roles USER/ASSISTANT), which every script of the authors' release passes
  (``--conv-mode vicuna_v1``): ``"<system> USER: <image>\\n<question> ASSISTANT:"``, the image placeholder first
  in the user turn (``DEFAULT_IMAGE_TOKEN + '\\n' + qs`` in ``llava/eval/model_vqa_loader.py``).
"""

from __future__ import annotations

from collections.abc import Callable

VICUNA_V1_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
IMAGE_PLACEHOLDER = "<image>"  # the llava-hf processor expands it to the image's visual tokens


def vicuna_v1(question: str) -> str:
    """One user turn with the image first, then the open assistant turn (``get_prompt()`` of conv_vicuna_v1 with
    the messages ``[USER, "<image>\\n" + question], [ASSISTANT, None]``)."""
    return f"{VICUNA_V1_SYSTEM} USER: {IMAGE_PLACEHOLDER}\n{question} ASSISTANT:"


CONVERSATION_FNS: dict[str, Callable[[str], str] | None] = {"chat-template": None, "vicuna_v1": vicuna_v1}


def conversation_fn(name: str) -> Callable[[str], str] | None:
    """The wrapper called ``name`` (None: the checkpoint's chat template)."""
    if name not in CONVERSATION_FNS:
        raise ValueError(f"unknown conversation {name!r} (known: {', '.join(CONVERSATION_FNS)})")
    return CONVERSATION_FNS[name]
