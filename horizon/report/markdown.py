"""Markdown laid out for reading: prose wrapped at :data:`WIDTH` characters, tables, headings, images and code left as
they are; pure.

A paragraph line or a list item longer than the width is broken at spaces, a list item's continuation indented under
its text. A break never puts at the start of a line what Markdown would read as a new block there (a list marker, a
heading, a quote, a table row), so wrapping changes the layout of the text, never its meaning.
"""

from __future__ import annotations

import re

WIDTH = 116  # prose columns; a table row may be longer (tables are never wrapped)

_ITEM = re.compile(r"^(\s*)([-*+] |\d+[.)] )")  # a list item's indent and marker
# a word that would open another block at the start of a line: a list marker, a heading, a quote (also >=), a table
# row, a setext underline or thematic break, a code fence
_OPENS_BLOCK = re.compile(r"^([-*+]|\d+[.)]|#+|>.*|\|.*|=+|-{2,}|`{3,}.*|~{3,}.*)$")


def wrap(text: str, width: int = WIDTH) -> str:
    """``text`` with every prose line (a paragraph line or a list item) longer than ``width`` wrapped."""
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or len(line) <= width or _kept(line):
            out.append(line)
            continue
        item = _ITEM.match(line)
        first = item.group(0) if item else line[: len(line) - len(line.lstrip())]
        hang = " " * len(first)
        out += _fill(line[len(first):].split(" "), first, hang, width)
    return "\n".join(out)


def _kept(line: str) -> bool:
    """Lines wrapping would break: table rows, headings, images, links alone on their line, indented code."""
    stripped = line.lstrip()
    return stripped.startswith(("|", "#", "![", "<")) or line.startswith("    ") and not _ITEM.match(line)


def _fill(words: list[str], first: str, hang: str, width: int) -> list[str]:
    """Greedy fill of ``words`` after ``first`` (then ``hang``), never breaking before a word that opens a block."""
    units: list[str] = []
    for word in words:
        if word == "":
            if units:
                units[-1] += " "  # keep double spaces inside the text as they were
            continue
        if units and _OPENS_BLOCK.match(word):
            units[-1] += " " + word  # glued to the word before: it cannot start a line
        else:
            units.append(word)
    lines, current = [], first
    for unit in units:
        if current.strip() and len(current) + 1 + len(unit) > width:
            lines.append(current.rstrip())
            current = hang + unit
        else:
            current = current + (" " if current.strip() and not current.endswith(" ") else "") + unit
    lines.append(current.rstrip())
    return lines
