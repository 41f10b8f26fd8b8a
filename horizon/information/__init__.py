"""Visual-token information (the paper's Eq. 2-6), its analyses and the information horizon."""

from horizon.information.answer import ANSWER_RULE, answer_text, answer_token
from horizon.information.metric import (
    MODES,
    InformationMap,
    information_map,
    information_naive,
    oracle_information,
)

__all__ = [
    "ANSWER_RULE",
    "MODES",
    "InformationMap",
    "answer_text",
    "answer_token",
    "information_map",
    "information_naive",
    "oracle_information",
]
