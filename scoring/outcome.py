"""Where a call's callback promise is and when it is due.

The classifier decides *whether* the outcome is a callback; this module finds *which* due
expression belongs to it: the last one in a turn that talks about calling back, else the last one
in the closing turns of the call.
"""

from __future__ import annotations

import re

from callqa.scoring.dates import DueExpression, find_due_expressions
from callqa.scoring.features import CallDocument

__all__ = ["CALLBACK_CUE", "find_callback_due"]

# Verbs and nouns of calling/writing back ("перезвоню", "наберу", "свяжусь", "позвоните", "звонка").
CALLBACK_CUE = re.compile(
    r"(пере)?зв[оа]н|набер|набира|свяж|позвон|отпиш|напиш|звонк|на связи|сообщ",
    re.IGNORECASE,
)
_CLOSING_TURNS = 4
# The stems CALLBACK_CUE's alternatives contain, for a plain substring test of case-folded text (the
# same answer as ``CALLBACK_CUE.search``, several times faster on long turns).
_CUE_STEMS = ("звон", "зван", "набер", "набира", "свяж", "отпиш", "напиш", "на связи", "сообщ")


def find_callback_due(doc: CallDocument) -> DueExpression | None:
    """The due expression of the callback agreed in ``doc``, or None when no due time is named.

    Args:
        doc: the call as role-tagged turns.

    Returns:
        The last due expression in a turn with a callback cue; failing that, the last due
        expression in the last four turns.
    """
    # Scanned from the end: the first cued turn with a due expression is the last one, and only cued
    # or closing turns are parsed (parsing every turn of a long call cost ~20 ms).
    best_closing: DueExpression | None = None
    n = len(doc.turns)
    for i in range(n - 1, -1, -1):
        text = doc.turns[i][1]
        folded = text.casefold()
        cued = any(stem in folded for stem in _CUE_STEMS)
        closing = i >= n - _CLOSING_TURNS
        if not (cued or (closing and best_closing is None)):
            continue
        found = find_due_expressions(text)
        if not found:
            continue
        if cued:
            return found[-1]
        best_closing = found[-1]
    return best_closing
