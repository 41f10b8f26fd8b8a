"""Visual-token information (the paper's Eq. 2-6), its analyses and the information horizon."""

from horizon.information.answer import (
    ANSWER_RULE,
    ANSWER_RULES,
    PAPER_ANSWER_RULE,
    answer_text,
    answer_token,
    best_vqa_answer,
    check_answer_rule,
)
from horizon.information.metric import (
    MODES,
    InformationMap,
    information_map,
    information_naive,
    oracle_information,
    oracle_scores,
    windows,
)

__all__ = [
    "ANSWER_RULE",
    "ANSWER_RULES",
    "MODES",
    "PAPER_ANSWER_RULE",
    "InformationMap",
    "answer_text",
    "answer_token",
    "best_vqa_answer",
    "check_answer_rule",
    "information_map",
    "information_naive",
    "oracle_information",
    "oracle_scores",
    "windows",
]
