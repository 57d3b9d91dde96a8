"""Asking a judge model which of two answers to a conversation is better.

Each comparison is asked twice with the answers' positions swapped, so a judge that
favours a position cannot make a challenger win: a win or a loss counts only when
both orders agree, anything else is a tie. The judge answers in JSON; a verdict that
cannot be read is asked again, then counted as a judge error, never as a win.
"""

import json
import re
from typing import Any

from benchmarks.models import Judgment

SYSTEM_PROMPT = """You are an impartial judge of AI assistant answers.
You are shown a conversation between a user and an assistant, and two candidate \
answers for the assistant's next turn, labelled A and B. Decide which answer serves \
the user better: correct, helpful, complete, following every instruction in the \
conversation (system instructions included), and no longer than it needs to be. \
The order of the answers says nothing about their quality, and neither does length.
Reply with only a JSON object, no other text:
{"winner": "A" | "B" | "tie", "reason": "<one short sentence>"}
Use "tie" when neither answer is clearly better."""

# Characters of one message or answer shown to the judge.
_MAX_TEXT = 12_000
_WINNERS = {"a": "A", "b": "B", "tie": "tie"}


def judge_messages(
    conversation: list[dict[str, Any]], answer_a: str, answer_b: str
) -> list[dict[str, str]]:
    """The judge's prompt for one order of the two answers."""
    lines = [
        f"[{message.get('role', 'user')}]\n{_text(message.get('content'))}"
        for message in conversation
    ]
    user = (
        "<conversation>\n"
        + "\n\n".join(lines)
        + "\n</conversation>\n\n<answer_A>\n"
        + answer_a[:_MAX_TEXT]
        + "\n</answer_A>\n\n<answer_B>\n"
        + answer_b[:_MAX_TEXT]
        + "\n</answer_B>\n\nWhich answer is better? Reply with the JSON object only."
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user},
    ]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content[:_MAX_TEXT]
    if isinstance(content, list):
        parts = [
            str(part.get("text", f"[{part.get('type', 'part')}]"))
            for part in content
            if isinstance(part, dict)
        ]
        return "\n".join(parts)[:_MAX_TEXT]
    return ""


def parse_verdict(text: str) -> tuple[str, str] | None:
    """("A" | "B" | "tie", reason) from the judge's reply; None if unreadable."""
    for candidate in _json_objects(text):
        winner = candidate.get("winner")
        if isinstance(winner, str) and winner.strip().lower() in _WINNERS:
            reason = candidate.get("reason")
            return _WINNERS[winner.strip().lower()], str(reason or "")[:500]
    return None


def _json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects in a reply: the whole of it, or the first {...} inside
    (judges like to wrap JSON in a code fence)."""
    found: list[dict[str, Any]] = []
    for chunk in (text.strip(), *re.findall(r"\{[^{}]*\}", text)):
        try:
            value = json.loads(chunk)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def combine(first: str | None, second: str | None) -> str:
    """The challenger's verdict from both orders.

    `first` is the judge's pick with the baseline as A and the challenger as B;
    `second` with the challenger as A. None stands for an unreadable verdict.
    """
    if first is None or second is None:
        return Judgment.Verdict.ERROR
    challenger_first = {"A": "loss", "B": "win", "tie": "tie"}[first]
    challenger_second = {"A": "win", "B": "loss", "tie": "tie"}[second]
    if challenger_first == challenger_second:
        return challenger_first
    return Judgment.Verdict.TIE
