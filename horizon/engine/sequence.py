"""The prompt rows during a pruned prefill: gathering kept rows, inserting merged ones and their DeepStack levels."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def gather_rows(x: torch.Tensor, idx: torch.Tensor, dim: int) -> torch.Tensor:
    """Gather ``idx`` (B, S') along sequence dim ``dim`` of ``x`` whose dim ``dim - 1`` is the batch."""
    shape = [1] * x.ndim
    shape[dim - 1], shape[dim] = idx.shape
    index = idx.view(shape).expand(*x.shape[:dim], idx.shape[1], *x.shape[dim + 1 :])
    return x.gather(dim, index)


@dataclass
class Sequence:
    """The current prompt rows during prefill, and what is known of each row."""

    h: torch.Tensor  # (B, S, D)
    cos: torch.Tensor  # (B, S, hd)
    sin: torch.Tensor  # (B, S, hd)
    pos: torch.Tensor  # (R, B, S) rope positions in use
    rows: torch.Tensor  # (B, S) original prompt index; -1 for a merged token
    visual: torch.Tensor  # (B, S) bool
    pad: torch.Tensor | None  # (B, S) 2-D attention mask as given, or None
    # DeepStack (Qwen3-VL): the pending levels, (B, S, D) each, the first added after the next layer to run (level k
    # after layer k; a consumed level is dropped); a row's feature, zero on text rows; () for a family without it
    deep: tuple[torch.Tensor, ...] = ()

    def gather(self, keep: torch.Tensor) -> None:
        """Keep rows ``keep`` (B, S') of every field."""
        self.h, self.cos, self.sin = (gather_rows(t, keep, 1) for t in (self.h, self.cos, self.sin))
        self.pos = gather_rows(self.pos, keep, 2)
        self.rows, self.visual = self.rows.gather(1, keep), self.visual.gather(1, keep)
        self.pad = None if self.pad is None else self.pad.gather(1, keep)
        self.deep = tuple(gather_rows(level, keep, 1) for level in self.deep)

    def replace_visual(
        self, values: torch.Tensor, replaced: torch.Tensor, deep: tuple[torch.Tensor, ...] | None = None
    ) -> None:
        """New states ``values`` (B, Nv, D) for the visual rows where ``replaced`` (B, Nv) is set (in row order); those
        rows become new tokens (original index -1) at the same positions. ``deep``: their pending DeepStack levels
        (B, Nv, D) each, as :attr:`deep`; None: they receive none."""
        rows = torch.stack([r.nonzero().squeeze(-1) for r in self.visual])  # (B, Nv)
        replaced = replaced.to(self.h.device)
        self.h = _set_rows(self.h, rows, replaced, values)  # a new tensor: snapshots keep the old one
        self.deep = tuple(_set_rows(level, rows, replaced, None if deep is None else deep[k])
                          for k, level in enumerate(self.deep))  # fmt: skip
        self.rows = self.rows.scatter(1, rows, self.rows.gather(1, rows).masked_fill(replaced, -1))

    def insert_after_visual(self, merged: torch.Tensor, deep: tuple[torch.Tensor, ...] | None = None) -> None:
        """Insert ``merged`` (B, m, D) right after each sample's last visual row; they share its position. ``deep``:
        their pending DeepStack levels (B, m, D) each, as :attr:`deep`; None: they receive none."""
        B, S, _ = self.h.shape
        m = merged.shape[1]
        last = [int(row.nonzero().max()) for row in self.visual]  # each sample's last visual row
        src = torch.arange(S + m, device=self.h.device)
        idx = torch.stack([torch.cat([src[: at + 1], S + src[:m], src[at + 1 : S]]) for at in last])  # (B, S+m)
        anchor = torch.tensor(last, device=self.h.device)[:, None].expand(B, m)  # (B, m) row whose rope they share
        merged = merged.to(self.h.device, self.h.dtype)
        self.h = torch.cat([self.h, merged], 1).gather(1, idx[..., None].expand(-1, -1, self.h.shape[-1]))
        added = [level.new_zeros(B, m, level.shape[-1]) if deep is None else deep[k].to(level) for k, level in
                 enumerate(self.deep)]  # fmt: skip
        self.deep = tuple(torch.cat([level, extra], 1).gather(1, idx[..., None].expand(-1, -1, level.shape[-1]))
                          for level, extra in zip(self.deep, added, strict=True))  # fmt: skip
        for name in ("cos", "sin"):
            t = getattr(self, name)
            extended = torch.cat([t, gather_rows(t, anchor, 1)], 1)
            setattr(self, name, gather_rows(extended, idx, 1))
        self.pos = gather_rows(torch.cat([self.pos, gather_rows(self.pos, anchor, 2)], 2), idx, 2)
        self.rows = torch.cat([self.rows, self.rows.new_full((B, m), -1)], 1).gather(1, idx)
        self.visual = torch.cat([self.visual, self.visual.new_ones(B, m)], 1).gather(1, idx)
        if self.pad is not None:
            self.pad = torch.cat([self.pad, self.pad.new_ones(B, m)], 1).gather(1, idx)

    def add_to_prompt_visual(self) -> None:
        """DeepStack, after a layer: add the first pending level to every visual row and drop it. A kept token's
        level is its own prompt row's (gathered with the kept rows); a merged or replaced token's was formed by its
        stage from the view's levels with the selection's ``mix`` (zero without one; docs/engine.md, "DeepStack").
        Rows that were dropped are gone, and so are their later injections."""
        level, self.deep = self.deep[0], self.deep[1:]
        added = self.h + level.to(self.h.device, self.h.dtype)
        self.h = torch.where(self.visual[..., None], added, self.h)  # a new tensor: snapshots keep theirs

    def visual_levels(self, visual_rows: torch.Tensor, mix: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The pending DeepStack levels of the tokens a stage forms with ``mix`` (B, R, Nv) from the visual rows
        ``visual_rows`` (B, Nv): ``mix @ level[visual_rows]`` per level, (B, R, D) each, computed in float32."""
        weights = mix.to(self.h.device, torch.float32)
        return tuple(
            torch.bmm(weights, gather_rows(level, visual_rows, 1).float()).to(level.dtype) for level in self.deep
        )

    def prompt_pad(self, prompt_pad: torch.Tensor) -> torch.Tensor:
        """The prompt's 2-D mask for the current rows (merged rows attend and are attended: 1)."""
        gathered = prompt_pad.gather(1, self.rows.clamp(min=0))
        return torch.where(self.rows >= 0, gathered, torch.ones_like(gathered))


def _set_rows(x: torch.Tensor, rows: torch.Tensor, replaced: torch.Tensor, values: torch.Tensor | None) -> torch.Tensor:
    """``x`` (B, S, D) with rows ``rows`` (B, Nv) set to ``values`` (B, Nv, D; None: zeros) where ``replaced``."""
    index = rows[..., None].expand(-1, -1, x.shape[-1])
    new = torch.zeros_like(index, dtype=x.dtype) if values is None else values.to(x.device, x.dtype)
    return x.scatter(1, index, torch.where(replaced[..., None], new, x.gather(1, index)))
