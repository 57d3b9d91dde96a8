"""Responders that make a fake provider act as a benchmark's judge.

A judge request is recognised by the judge's system prompt; every other request
gets None (the fake's default reply). `verdict` decides the judge's pick from the
two answers as the prompt shows them, so tests can script a judge that always
prefers the first position, one that prefers a given model's answers, or one that
answers nonsense.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.fakes.providers import AutoReply, RecordedRequest, Reply

JUDGE_MARKER = "You are an impartial judge"
_ANSWER = re.compile(r"<answer_([AB])>\n(.*?)\n</answer_\1>", re.DOTALL)

Verdict = Callable[[str, str], str]  # (answer A, answer B) -> "A" | "B" | "tie" | text


def is_judge_request(request: RecordedRequest) -> bool:
    body = request.json if isinstance(request.json, dict) else {}
    messages = body.get("messages") or []
    first = messages[0] if messages else {}
    content = first.get("content") if isinstance(first, dict) else None
    return isinstance(content, str) and content.startswith(JUDGE_MARKER)


def answers_of(request: RecordedRequest) -> tuple[str, str]:
    prompt = request.json["messages"][-1]["content"]
    found = dict(_ANSWER.findall(prompt))
    return found.get("A", ""), found.get("B", "")


def judge_responder(
    verdict: Verdict, latency_s: float = 0.0, reply_type: type[AutoReply] = AutoReply
) -> Callable[[RecordedRequest], Reply | None]:
    """`reply_type`: the AutoReply class of the fake that calls the responder (the
    fake's CLI runs as __main__, whose classes are not this module's)."""

    def respond(request: RecordedRequest) -> Reply | None:
        if not is_judge_request(request):
            return None
        pick = verdict(*answers_of(request))
        if pick in ("A", "B", "tie"):
            content = json.dumps({"winner": pick, "reason": "scripted verdict"})
        else:
            content = pick
        return reply_type(content=content, latency_s=latency_s)

    return respond


def first_position(a: str, b: str) -> str:
    return "A"


def prefers(word: str) -> Verdict:
    """A judge that picks the answer containing `word`, else calls a tie."""

    def verdict(a: str, b: str) -> str:
        if word in a and word not in b:
            return "A"
        if word in b and word not in a:
            return "B"
        return "tie"

    return verdict


def unreadable(a: str, b: str) -> str:
    return "I think both are fine, really."


JUDGES: dict[str, Verdict] = {
    "first": first_position,
    "tie": lambda a, b: "tie",
    "unreadable": unreadable,
}
