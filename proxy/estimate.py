"""Token counts estimated from text, for answers that arrive without usage.

Some servers never report usage: llama.cpp's OpenAI-compatible server sends none in
a stream, even when `stream_options.include_usage` asks for it. Such a call is still
priced, from counts estimated here, and its record is marked as estimated.

The heuristic is the common rule of thumb for English text with BPE tokenizers: one
token per four characters, rounded up, counted over the text of the request's
messages (and the system prompt) and over the answer's text. No tokenizer is used:
the gateway serves any model, and none ships one that works offline for all of them.
Each message adds a few tokens for its role and the chat template's separators.
"""

import math
from typing import Any

from proxy.pricing import TokenUsage

# Characters per token, the rule of thumb for English text.
CHARS_PER_TOKEN = 4
# Tokens a chat template adds per message (role name and separators).
TOKENS_PER_MESSAGE = 4


def text_of(content: Any) -> str:
    """A content string, or the text parts (blocks) of a content list, joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(
        part["text"]
        for part in content
        if isinstance(part, dict)
        and part.get("type") == "text"
        and isinstance(part.get("text"), str)
    )


def tokens_in(text: str) -> int:
    """Estimated tokens in a text: its characters divided by four, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def input_tokens(body: dict[str, Any]) -> int:
    """Estimated input tokens of an OpenAI- or Anthropic-format request body."""
    messages = body.get("messages")
    messages = messages if isinstance(messages, list) else []
    texts = [
        text_of(message.get("content"))
        for message in messages
        if isinstance(message, dict)
    ]
    system = text_of(body.get("system"))  # Anthropic's system prompt
    if system:
        texts.append(system)
    return sum(tokens_in(text) + TOKENS_PER_MESSAGE for text in texts)


def usage_for(body: dict[str, Any], answer: str) -> TokenUsage:
    """Estimated usage of a call: its request's messages in, its answer out."""
    return TokenUsage(input_tokens=input_tokens(body), output_tokens=tokens_in(answer))
