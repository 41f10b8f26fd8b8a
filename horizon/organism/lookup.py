"""Lookup supervision for the organisms' further training stages (``train.train`` with ``point_weight``,
``probe_weight``, ``copy_weight``): losses that teach the decoder to find what a question names (a grid cell, or
for exists a colour-shape pair) and to carry it to the answer. Pure functions of one forward's outputs and the
batch's targets (``data.pointer_targets``, ``data.exists_targets``, ``data.answer_queries``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from horizon.organism.config import TrainConfig
from horizon.organism.data import CELL_TASKS, OBJECT_HEADS, answer_queries, exists_targets, pointer_targets


def pointer_loss(attention: torch.Tensor, pairs: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, float]:
    """-log of the attention mass one head puts on the named cell's tokens, from each cell question's query
    position (``pointer_targets``); ``attention`` (B, T, T) of that head. Returns (loss, mean mass)."""
    rows = attention[pairs[:, 0], pairs[:, 1]]  # (N, T)
    mass = (rows * masks).sum(-1)
    return -torch.log(mass.clamp_min(1e-6)).mean(), float(mass.mean().detach())


def probe_loss(
    heads: Sequence[torch.nn.Module], states: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """Cross-entropy of linear ``heads`` reading class ids ``targets`` (N, len(heads)), column i for head i, from
    ``states`` (N, H); returns (mean loss over heads, accuracy over heads and rows)."""
    losses, hits = [], []
    for i, head in enumerate(heads):
        logits, target = head(states), targets[:, i]
        losses.append(F.cross_entropy(logits, target))
        hits.append((logits.argmax(-1) == target).float().mean())
    return torch.stack(losses).mean(), float(torch.stack(hits).mean())


def lookup_losses(
    cfg: TrainConfig,
    model: Any,
    probe: torch.nn.ModuleDict,
    fwd: Any,
    batch: Any,
    ids: tuple[int, int],
    acc: dict[str, float],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The pointing, probe and copy losses of one forward (zero where unused or nothing was asked), their
    accuracies into ``acc``; ``ids`` are the token ids of "column" and "Is". Queries: each cell question's column
    number (``pointer_targets``) and, with ``lookup_exists``, each exists question's kind word (``exists_targets``).
    The pointing head (head 0 of ``point_layer``) is trained to look at what the query names, linear probes to
    read it from the query's state after that layer (``probe``: kind, colour, digit; ``exists``: yes / no), and the
    copy head (head 0 of the next layer) to read the query from its answer position (``answer_queries``)."""
    input_ids, zero = batch.inputs["input_ids"], fwd.logits.new_zeros(())
    visual = model.config.image_token_id
    pairs, masks, firsts = pointer_targets(input_ids, ids[0], visual, batch.chats)
    wanted = batch.cells[pairs[:, 0], firsts][:, : len(OBJECT_HEADS)]  # kind, colour, digit (HEADS order)
    rows = [answer_queries(batch.labels, batch.chats, CELL_TASKS)]
    n_cells = len(pairs)
    e_answers = torch.zeros(0, dtype=torch.long)
    if cfg.lookup_exists:
        attention_mask = batch.inputs.get("attention_mask", torch.ones_like(input_ids))
        e_pairs, e_masks, e_answers = exists_targets(input_ids, attention_mask, ids[1], visual, batch.chats,
                                                     batch.cells)  # fmt: skip
        pairs, masks = torch.cat([pairs, e_pairs]), torch.cat([masks, e_masks])
        rows.append(answer_queries(batch.labels, batch.chats, ("exists",)))
    point = probed = copied = zero
    if not len(pairs):
        return point, probed, copied
    if cfg.point_weight > 0:
        point, acc["point"] = pointer_loss(fwd.attentions[cfg.point_layer][:, 0], pairs, masks)
    if cfg.probe_weight > 0:  # after the pointing layer, at the query token
        states = fwd.hidden_states[cfg.point_layer + 1][pairs[:, 0], pairs[:, 1]]  # (N, H)
        parts = []
        if n_cells:
            parts.append(probe_loss([probe[n] for n in OBJECT_HEADS], states[:n_cells], wanted))
        if len(pairs) > n_cells:
            parts.append(probe_loss([probe["exists"]], states[n_cells:], e_answers[:, None]))
        probed = torch.stack([loss for loss, _ in parts]).mean()
        acc["probe"] = sum(a for _, a in parts) / len(parts)
    if cfg.copy_weight > 0:  # the answer position reads the query token
        onehot = torch.zeros_like(masks).scatter_(1, pairs[:, 1:], True)
        queries = torch.stack([pairs[:, 0], torch.cat(rows)], 1)
        copied, acc["copy"] = pointer_loss(fwd.attentions[cfg.point_layer + 1][:, 0], queries, onehot)
    return point, probed, copied
