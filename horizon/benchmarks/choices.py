"""MMBench's letter reading as lmms-eval 0.7.3 does it on its ``static`` path (no GPT judge, no random letter).

Sources (lmms-eval 0.7.3 wheel): ``lmms_eval/tasks/mmbench/mmbench_evals.py`` ``MMBench_Evaluator`` (``can_infer_option``
l.79-105, ``can_infer_text`` l.107-119, ``can_infer`` l.121-123, ``build_choices`` l.50-55, ``eval_sub_data``
l.206-234) and ``lmms_eval/tasks/_task_utils/mcq_extract.py`` (``extract_mcq_answer``). A prediction is read by:

1. :func:`infer_option`: the words of the answer (split at whitespace); when exactly one of A-E stands alone as a
   word, that letter, unless "A" is one of more than 3 words (then it may be the article); else the first of the
   forms ``X.``, ``X,``, ``X:``, ``X)``, ``X).``, ``(X)``, ``(X).``, ``:X``, ``:X,``, ``:X.``, ``:X)``, ``:X).``
   that exactly one letter takes. "E" counts although MMBench has options A-D only (it then reads as wrong).
2. :func:`infer_text`: exactly one option's text occurs in the lower-cased answer.
3. :func:`extract_mcq`: the ranked search for a letter in ten formats (a letter that starts or ends the answer,
   an answer phrase, "(X)", "X.", ...), over the letters the row has.

The options are the row's cells A-D as lmms-eval holds them (:func:`read_letter`'s ``cells``): a missing column is
the text "nan" (``mmbench_process_results`` fills it so), and a null cell is no option.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

OPTION_LETTERS = "ABCDE"  # can_infer_option's num_choice=5
CELL_LETTERS = "ABCD"  # build_choices
API_FAILURE = "Failed to obtain answer via API"  # can_infer_option refuses an answer holding it
# (prefix, suffix) forms tried in order once no bare letter decides (can_infer_option's ``tups``)
FORMS = (("", "."), ("", ","), ("", ":"), ("", ")"), ("", ")."), ("(", ")"), ("(", ")."), (":", ""), (":", ","),
         (":", "."), (":", ")"), (":", ")."))  # fmt: skip

MCQ_LETTERS = "ABCDEFGH"  # extract_mcq_answer's default choices (an empty list falls back to them)
MCQ_STRIP = ",.!?;:'\""  # stripped from both ends, one character kind after another, in this order
# answer phrases after which the first letter found is a candidate (extract_mcq_answer's _ANSWER_PHRASES)
MCQ_PHRASES = (
    "the answer is", "answer is", "the correct answer is", "correct answer is", "the best answer is",
    "best answer is", "the correct option is", "correct option is", "the best option is", "best option is",
    "the choice is", "choice is", "the correct choice is", "correct choice is", "i choose", "i select", "i pick",
    "my answer is", "my choice is", "옵션", "정답은", "답은", "답:", "答案是", "答案为", "选", "答えは",
)  # fmt: skip
# how sure each format is (higher wins; then the later position): extract_mcq_answer's _FORMAT_PRIORITY
MCQ_PRIORITY = {"start": 10, "end": 9, "phrase": 7, "parentheses": 6, "period": 5, "colon": 4, "right_paren": 3,
                "space": 2, "fallback": 0}  # fmt: skip


def infer_option(answer: str) -> str | None:
    """The letter standing alone (or in one of :data:`FORMS`) for exactly one of A-E, else None."""
    if API_FAILURE in answer:
        return None
    words = [w.strip() for w in answer.split()]

    def taken(prefix: str = "", suffix: str = "") -> list[str]:
        return [c for c in OPTION_LETTERS if prefix + c + suffix in words]

    bare = taken()
    if len(bare) == 1 and not ("A" in words and len(words) > 3):
        return bare[0]
    for prefix, suffix in FORMS:
        letters = taken(prefix, suffix)
        if len(letters) == 1:
            return letters[0]
    return None


def infer_text(answer: str, options: Mapping[str, str]) -> str | None:
    """The one option whose (lower-cased) text occurs in the lower-cased answer, else None."""
    lowered = answer.lower()
    found = [letter for letter, option in options.items() if option.lower() in lowered]
    return found[0] if len(found) == 1 else None


def extract_mcq(response: str, letters: Sequence[str]) -> str | None:
    """lmms-eval's ``extract_mcq_answer``: the best-ranked letter among ``letters`` (A-H when empty), else None."""
    if not response.strip():
        return None
    choices = list(letters) or list(MCQ_LETTERS)
    text = response.strip()
    for ch in MCQ_STRIP:
        text = text.strip(ch)
    text = f" {text} "
    found: list[tuple[str, int, str]] = []  # (letter, position, format), in the order they are looked for
    for fmt, shape in (("parentheses", "({})"), ("period", "{}."), ("colon", "{}:"), ("right_paren", "{})"),
                       ("space", "{} ")):  # fmt: skip
        found += [(c, text.rfind(shape.format(c)), fmt) for c in choices if shape.format(c) in text]
    lowered = text.lower()
    for phrase in MCQ_PHRASES:
        at = lowered.find(phrase)
        if at != -1:
            after = at + len(phrase)
            found += [(c, text.find(c, after), "phrase") for c in choices if text.find(c, after) != -1]
    core = text.strip()
    found += [(c, 0, "start") for c in choices if core.startswith(c) and (len(core) == 1 or not core[1].isalpha())]
    last = len(text) - 1
    found += [(c, last, "end") for c in choices if core.endswith(c) and (len(core) == 1 or not core[-2].isalpha())]
    if not found:
        found = [(c, text.rfind(c), "fallback") for c in choices if c in text]
    if not found:
        return None
    # the highest priority, then the latest position; among equals the first found (a stable descending sort)
    return max(found, key=lambda f: (MCQ_PRIORITY[f[2]], f[1]))[0]


def row_options(cells: Mapping[str, str | None]) -> dict[str, str]:
    """``build_choices``: the letters A-D whose cell is not null, with their text (a missing cell reads "nan")."""
    return {c: cell for c in CELL_LETTERS if (cell := cells.get(c, "nan")) is not None}


def read_letter(prediction: str, cells: Mapping[str, str | None]) -> str | None:
    """The letter lmms-eval's static MMBench evaluation reads from ``prediction`` (already stripped), or None.
    ``cells`` maps A-D to the row's cells (None: null); its ``can_infer`` first, then ``extract_mcq_answer`` over
    the row's letters in order."""
    options = row_options(cells)
    return infer_option(prediction) or infer_text(prediction, options) or extract_mcq(prediction, sorted(options))
