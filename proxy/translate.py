"""Translation between OpenAI Chat Completions and Anthropic Messages wire formats.

Pure functions over plain JSON dicts, so the proxy can serve either API from a
provider that speaks the other:

- an OpenAI client in front of Anthropic: `openai_request_to_anthropic`, then
  `anthropic_response_to_openai` or `AnthropicStreamToOpenAI`;
- an Anthropic client in front of an OpenAI-compatible provider:
  `anthropic_request_to_openai`, then `openai_response_to_anthropic` or
  `OpenAIStreamToAnthropic`.

Input the other side cannot express (audio, files, server tools...) raises
`TranslationError`, which callers should answer with a 400: silently dropping part
of a conversation would get a confident answer to a question nobody asked.
Unknown top-level request fields, by contrast, are dropped, because both APIs
reject fields they do not know.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

JSON = dict[str, Any]

# Anthropic requires max_tokens where OpenAI makes it optional.
DEFAULT_MAX_TOKENS = 4096
# OpenAI accepts temperatures up to 2, Anthropic rejects anything above 1.
_ANTHROPIC_MAX_TEMPERATURE = 1.0
# Separates system prompts gathered from several messages or blocks.
_SYSTEM_SEPARATOR = "\n\n"
# Separates the text blocks of an Anthropic tool result, which OpenAI wants as one
# string (several OpenAI-compatible providers accept nothing else there).
_TOOL_RESULT_SEPARATOR = "\n"
# OpenAI roles whose content becomes Anthropic's top-level `system`.
_SYSTEM_ROLES = frozenset({"system", "developer"})
# Image media types Anthropic accepts in a base64 source.
_ANTHROPIC_IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp"}
)
# URL schemes Anthropic can fetch an image from itself.
_FETCHABLE_SCHEMES = ("https://", "http://")
# Anthropic stop_reason -> OpenAI finish_reason. A refusal is the closest thing
# OpenAI has to content filtering; a pause is an ordinary end of turn for a client
# that cannot resume it.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# OpenAI finish_reason -> Anthropic stop_reason (function_call is the legacy name).
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
# finish_reason when Anthropic gave none, which only a truncated message does.
_DEFAULT_FINISH_REASON = "stop"
# Error types the Anthropic SDK recognises; anything else is reported as api_error.
_ANTHROPIC_ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "timeout_error",
        "api_error",
        "overloaded_error",
    }
)
# Type of an error whose upstream type is missing or unknown.
_FALLBACK_ERROR_TYPE = "api_error"


class TranslationError(ValueError):
    """The request holds something the target API has no way to express."""


# --- shared helpers ---------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _count(usage: JSON, key: str) -> int:
    """A token count from a usage dict, where absent and null both mean zero."""
    return int(usage.get(key) or 0)


def _text_of(content: Any, separator: str) -> str:
    """Flatten text content, given as a string or a list of text parts/blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.get("type") != "text":
            raise TranslationError(
                f"only text is allowed here, got {part.get('type')!r}"
            )
        texts.append(part["text"])
    return separator.join(texts)


def _decode_arguments(arguments: Any) -> JSON:
    """Decode an OpenAI tool call's JSON-string arguments into an Anthropic input."""
    # Some providers send "" for a tool that takes no arguments.
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        decoded = json.loads(arguments)
    except (TypeError, json.JSONDecodeError) as exc:
        raise TranslationError(f"tool call arguments are not JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise TranslationError("tool call arguments must be a JSON object")
    return decoded


def anthropic_usage_to_openai(usage: JSON) -> JSON:
    """Anthropic usage -> OpenAI usage.

    Anthropic counts cache reads and cache writes apart from `input_tokens`; OpenAI's
    `prompt_tokens` is the whole prompt, with the cached part broken out.
    """
    cache_read = _count(usage, "cache_read_input_tokens")
    prompt = (
        _count(usage, "input_tokens")
        + cache_read
        + _count(usage, "cache_creation_input_tokens")
    )
    completion = _count(usage, "output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


def openai_usage_to_anthropic(usage: JSON) -> JSON:
    """OpenAI usage -> Anthropic usage, moving cached tokens out of the input count."""
    cached = _count(usage.get("prompt_tokens_details") or {}, "cached_tokens")
    return {
        "input_tokens": max(_count(usage, "prompt_tokens") - cached, 0),
        "output_tokens": _count(usage, "completion_tokens"),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def anthropic_error_to_openai(body: JSON) -> JSON:
    """An Anthropic error body (or its inner `error` object) -> OpenAI's shape."""
    error = body["error"] if isinstance(body.get("error"), dict) else body
    return {
        "error": {
            "message": str(error.get("message") or "upstream error"),
            "type": str(error.get("type") or _FALLBACK_ERROR_TYPE),
            "param": None,
            "code": None,
        }
    }


def openai_error_to_anthropic(body: JSON) -> JSON:
    """An OpenAI error body -> Anthropic's shape, with a type its SDK recognises."""
    error = body["error"] if isinstance(body.get("error"), dict) else body
    error_type = error.get("type")
    if error_type not in _ANTHROPIC_ERROR_TYPES:
        error_type = _FALLBACK_ERROR_TYPE
    return {
        "type": "error",
        "error": {
            "type": error_type,
            "message": str(error.get("message") or "upstream error"),
        },
    }


# --- OpenAI request -> Anthropic request ------------------------------------


def _base64_image_source(data_url: str) -> JSON:
    """`data:image/png;base64,....` -> an Anthropic base64 image source."""
    header, comma, data = data_url.removeprefix("data:").partition(",")
    media_type = header.split(";", 1)[0]
    if not comma or not header.endswith(";base64"):
        raise TranslationError("image data URLs must be base64-encoded")
    if media_type not in _ANTHROPIC_IMAGE_TYPES:
        raise TranslationError(f"unsupported image type {media_type!r}")
    return {"type": "base64", "media_type": media_type, "data": data}


def _image_part_to_block(part: JSON) -> JSON:
    image = part.get("image_url")
    # The spec nests the URL in an object; a few clients send the bare string.
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise TranslationError("image_url part has no url")
    if url.startswith("data:"):
        return {"type": "image", "source": _base64_image_source(url)}
    if url.startswith(_FETCHABLE_SCHEMES):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError("image URLs must be http(s) or data: URLs")


def _part_to_block(part: JSON) -> JSON:
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": part["text"]}
    if kind == "refusal":
        return {"type": "text", "text": part["refusal"]}
    if kind == "image_url":
        return _image_part_to_block(part)
    raise TranslationError(f"unsupported content part type {kind!r}")


def _content_to_blocks(content: Any) -> list[JSON]:
    """OpenAI message content -> Anthropic blocks, minus the empty text blocks
    Anthropic rejects."""
    if content is None:
        return []
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
    blocks = [_part_to_block(part) for part in parts]
    return [block for block in blocks if block["type"] != "text" or block["text"]]


def _tool_call_to_block(call: JSON) -> JSON:
    if call.get("type", "function") != "function":
        raise TranslationError(f"unsupported tool call type {call.get('type')!r}")
    function = call["function"]
    return {
        "type": "tool_use",
        "id": call["id"],
        "name": function["name"],
        "input": _decode_arguments(function.get("arguments")),
    }


def _tool_message_to_block(message: JSON) -> JSON:
    content = message.get("content")
    result: JSON = {"type": "tool_result", "tool_use_id": message["tool_call_id"]}
    if isinstance(content, str):
        result["content"] = content
    elif content:
        result["content"] = _content_to_blocks(content)
    return result


def _message_to_turn(message: JSON) -> tuple[str, list[JSON]]:
    """One non-system OpenAI message -> (Anthropic role, content blocks)."""
    role = message.get("role")
    if role == "user":
        return "user", _content_to_blocks(message.get("content"))
    if role == "assistant":
        blocks = _content_to_blocks(message.get("content"))
        blocks += [_tool_call_to_block(c) for c in message.get("tool_calls") or []]
        return "assistant", blocks
    if role == "tool":
        # Anthropic carries tool results inside the next user turn.
        return "user", [_tool_message_to_block(message)]
    raise TranslationError(f"unsupported message role {role!r}")


def _tool_results_first(blocks: list[JSON]) -> list[JSON]:
    """Anthropic wants a user turn's tool results before anything else in it."""
    results = [b for b in blocks if b["type"] == "tool_result"]
    return results + [b for b in blocks if b["type"] != "tool_result"]


def _split_messages(messages: list[JSON]) -> tuple[str, list[JSON]]:
    """OpenAI messages -> (system prompt, Anthropic messages).

    System and developer messages are lifted out wherever they appear, and
    consecutive turns of one role are merged, since Anthropic allows neither.
    """
    system: list[str] = []
    turns: list[JSON] = []
    for message in messages:
        if message.get("role") in _SYSTEM_ROLES:
            text = _text_of(message.get("content"), _SYSTEM_SEPARATOR)
            if text:
                system.append(text)
            continue
        role, blocks = _message_to_turn(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            turn["content"] = _tool_results_first(turn["content"])
    return _SYSTEM_SEPARATOR.join(system), turns


def _anthropic_max_tokens(body: JSON) -> int:
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return int(limit) if limit else DEFAULT_MAX_TOKENS


def _anthropic_sampling(body: JSON) -> JSON:
    """temperature/top_p, within what Anthropic accepts.

    Recent Claude models reject requests that set both, so top_p only goes through
    on its own (OpenAI's documentation also advises setting just one).
    """
    sampling: JSON = {}
    temperature = body.get("temperature")
    if temperature is not None:
        sampling["temperature"] = min(float(temperature), _ANTHROPIC_MAX_TEMPERATURE)
    elif body.get("top_p") is not None:
        sampling["top_p"] = body["top_p"]
    return sampling


def _stop_sequences(stop: Any) -> list[str]:
    if not stop:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def _tool_to_anthropic(tool: JSON) -> JSON:
    if tool.get("type", "function") != "function":
        raise TranslationError(f"unsupported tool type {tool.get('type')!r}")
    function = tool["function"]
    converted: JSON = {
        "name": function["name"],
        # Anthropic requires a schema; a parameterless OpenAI function may omit it.
        "input_schema": function.get("parameters") or {"type": "object"},
    }
    if function.get("description"):
        converted["description"] = function["description"]
    return converted


def _tool_choice_to_anthropic(choice: Any, parallel: bool | None) -> JSON | None:
    if choice is None:
        converted: JSON = {"type": "auto"}
    elif choice in ("auto", "none"):
        converted = {"type": choice}
    elif choice == "required":
        converted = {"type": "any"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        converted = {"type": "tool", "name": choice["function"]["name"]}
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        # Anthropic cannot narrow the tool list per request; honour only the mode.
        mode = choice["allowed_tools"].get("mode")
        converted = {"type": "any" if mode == "required" else "auto"}
    else:
        raise TranslationError(f"unsupported tool_choice {choice!r}")
    if parallel is False and converted["type"] != "none":
        converted["disable_parallel_tool_use"] = True
    # Without a tool_choice there is nothing to say unless parallel calls are off.
    if choice is None and "disable_parallel_tool_use" not in converted:
        return None
    return converted


def openai_request_to_anthropic(body: JSON) -> JSON:
    """An OpenAI Chat Completions request body -> an Anthropic Messages body."""
    if (body.get("n") or 1) > 1:
        raise TranslationError("Anthropic returns one choice per request; n must be 1")
    system, messages = _split_messages(body.get("messages") or [])
    result: JSON = {"messages": messages, "max_tokens": _anthropic_max_tokens(body)}
    if body.get("model"):
        result["model"] = body["model"]
    if system:
        result["system"] = system
    result.update(_anthropic_sampling(body))
    if stop := _stop_sequences(body.get("stop")):
        result["stop_sequences"] = stop
    if body.get("stream"):
        result["stream"] = True
    if tools := [_tool_to_anthropic(t) for t in body.get("tools") or []]:
        result["tools"] = tools
        choice = _tool_choice_to_anthropic(
            body.get("tool_choice"), body.get("parallel_tool_calls")
        )
        if choice:
            result["tool_choice"] = choice
    if user := body.get("user") or body.get("safety_identifier"):
        result["metadata"] = {"user_id": user}
    return result


# --- Anthropic response -> OpenAI response ----------------------------------


def _finish_reason(stop_reason: str | None) -> str:
    return _FINISH_REASONS.get(stop_reason or "", _DEFAULT_FINISH_REASON)


def _tool_use_to_call(block: JSON) -> JSON:
    return {
        "id": block["id"],
        "type": "function",
        "function": {
            "name": block["name"],
            "arguments": json.dumps(block.get("input") or {}),
        },
    }


def anthropic_response_to_openai(resp: JSON, model: str) -> JSON:
    """An Anthropic `message` -> an OpenAI `chat.completion`.

    Thinking and server-tool blocks have no OpenAI counterpart and are left out.
    """
    texts: list[str] = []
    calls: list[JSON] = []
    for block in resp.get("content") or []:
        if block.get("type") == "text":
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            calls.append(_tool_use_to_call(block))
    message: JSON = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": resp.get("id") or _new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": _now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(resp.get("stop_reason")),
                "logprobs": None,
            }
        ],
        "usage": anthropic_usage_to_openai(resp.get("usage") or {}),
    }


# --- Anthropic stream -> OpenAI stream --------------------------------------


class AnthropicStreamToOpenAI:
    """Turns Anthropic SSE events into OpenAI `chat.completion.chunk` dicts.

    Feed every parsed event to `event`; `usage` holds the merged Anthropic usage
    seen so far, complete once `message_stop` has been fed.
    """

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.usage: JSON = {}
        self._id = _new_id("chatcmpl-")
        self._created = _now()
        self._started = False
        # Anthropic content-block index -> OpenAI tool_calls index.
        self._tool_indexes: dict[int, int] = {}

    def event(self, event_type: str, data: JSON) -> list[JSON]:
        """Translate one event; returns the chunks to send, possibly none."""
        if event_type == "error":
            return [anthropic_error_to_openai(data)]
        handler = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
        }.get(event_type)
        # ping, content_block_stop and future event types carry nothing to relay.
        return handler(data) if handler else []

    def _chunk(self, delta: JSON, finish_reason: str | None = None) -> JSON:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
        }

    def _opening(self) -> list[JSON]:
        """The role chunk OpenAI streams lead with, exactly once."""
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def _emit(self, delta: JSON, finish_reason: str | None = None) -> list[JSON]:
        """One chunk, preceded by the role chunk if that has not gone out yet."""
        return [*self._opening(), self._chunk(delta, finish_reason)]

    def _merge_usage(self, usage: JSON | None) -> None:
        # message_delta counts are cumulative, and null means "not reported".
        self.usage.update({k: v for k, v in (usage or {}).items() if v is not None})

    def _message_start(self, data: JSON) -> list[JSON]:
        message = data.get("message") or {}
        if message.get("id"):
            self._id = message["id"]
        self._merge_usage(message.get("usage"))
        return self._opening()

    def _block_start(self, data: JSON) -> list[JSON]:
        block = data.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return self._emit({"content": block["text"]})
        if block.get("type") != "tool_use":
            return []
        index = len(self._tool_indexes)
        self._tool_indexes[data["index"]] = index
        call = {
            "index": index,
            "id": block["id"],
            "type": "function",
            "function": {"name": block["name"], "arguments": ""},
        }
        return self._emit({"tool_calls": [call]})

    def _block_delta(self, data: JSON) -> list[JSON]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            return self._emit({"content": delta["text"]})
        tool_index = self._tool_indexes.get(data.get("index", -1))
        fragment = delta.get("partial_json")
        if (
            delta.get("type") != "input_json_delta"
            or tool_index is None
            or not fragment
        ):
            return []
        call = {"index": tool_index, "function": {"arguments": fragment}}
        return self._emit({"tool_calls": [call]})

    def _message_delta(self, data: JSON) -> list[JSON]:
        self._merge_usage(data.get("usage"))
        stop_reason = (data.get("delta") or {}).get("stop_reason")
        if not stop_reason:
            return []
        return self._emit({}, _finish_reason(stop_reason))

    def _message_stop(self, data: JSON) -> list[JSON]:
        if not self.include_usage:
            return []
        final = self._chunk({})
        final["choices"] = []
        final["usage"] = anthropic_usage_to_openai(self.usage)
        return [final]


# --- Anthropic request -> OpenAI request ------------------------------------


def _image_block_to_part(block: JSON) -> JSON:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif source.get("type") == "url":
        url = source["url"]
    else:
        raise TranslationError(f"unsupported image source {source.get('type')!r}")
    return {"type": "image_url", "image_url": {"url": url}}


def _block_to_part(block: JSON) -> JSON:
    if block.get("type") == "text":
        return {"type": "text", "text": block["text"]}
    if block.get("type") == "image":
        return _image_block_to_part(block)
    raise TranslationError(f"unsupported content block type {block.get('type')!r}")


def _user_message(parts: list[JSON]) -> JSON:
    # A lone text part goes as a plain string, the form every provider accepts.
    if len(parts) == 1 and parts[0]["type"] == "text":
        return {"role": "user", "content": parts[0]["text"]}
    return {"role": "user", "content": parts}


def _tool_result_to_messages(block: JSON) -> tuple[JSON, list[JSON]]:
    """A tool_result block -> (OpenAI tool message, image parts it carried).

    OpenAI tool messages hold only text, so images travel on in a user message.
    """
    content = block.get("content")
    if isinstance(content, str):
        blocks = [{"type": "text", "text": content}]
    else:
        blocks = list(content or [])
    parts = [_block_to_part(b) for b in blocks]
    texts = [p["text"] for p in parts if p["type"] == "text"]
    message = {
        "role": "tool",
        "tool_call_id": block["tool_use_id"],
        "content": _TOOL_RESULT_SEPARATOR.join(texts),
    }
    return message, [p for p in parts if p["type"] != "text"]


def _user_turn_to_messages(content: Any) -> list[JSON]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[JSON] = []
    parts: list[JSON] = []
    for block in content:
        if block.get("type") == "tool_result":
            message, images = _tool_result_to_messages(block)
            tool_messages.append(message)
            parts += images
        else:
            parts.append(_block_to_part(block))
    # OpenAI needs the tool messages straight after the assistant's tool calls.
    return tool_messages + ([_user_message(parts)] if parts else [])


def _assistant_turn_to_message(content: Any) -> JSON | None:
    """An assistant turn -> one OpenAI message, or None if nothing in it translates
    (OpenAI rejects an assistant message with neither content nor tool calls)."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[JSON] = []
    for block in content:
        if block.get("type") == "text":
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            calls.append(_tool_use_to_call(block))
        # Thinking blocks are the model's own scratchpad; OpenAI has no field.
    if not texts and not calls:
        return None
    message: JSON = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _turn_to_messages(turn: JSON) -> list[JSON]:
    role, content = turn.get("role"), turn.get("content")
    if role == "user":
        return _user_turn_to_messages(content)
    if role == "assistant":
        message = _assistant_turn_to_message(content)
        return [message] if message else []
    if role == "system":
        # Anthropic also accepts system turns inline; OpenAI keeps them in place.
        return [{"role": "system", "content": _text_of(content, _SYSTEM_SEPARATOR)}]
    raise TranslationError(f"unsupported message role {role!r}")


def _tool_to_openai(tool: JSON) -> JSON:
    # Typed tools (web search, bash, ...) are run by Anthropic's servers.
    if tool.get("type") not in (None, "custom"):
        raise TranslationError(f"unsupported tool type {tool['type']!r}")
    function: JSON = {"name": tool["name"], "parameters": tool["input_schema"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice_to_openai(choice: JSON) -> Any:
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return kind
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}
    raise TranslationError(f"unsupported tool_choice {kind!r}")


def _openai_tool_fields(body: JSON) -> JSON:
    tools = [_tool_to_openai(t) for t in body.get("tools") or []]
    if not tools:
        return {}
    fields: JSON = {"tools": tools}
    choice = body.get("tool_choice")
    if choice:
        fields["tool_choice"] = _tool_choice_to_openai(choice)
        if choice.get("disable_parallel_tool_use"):
            fields["parallel_tool_calls"] = False
    return fields


def anthropic_request_to_openai(body: JSON) -> JSON:
    """An Anthropic Messages request body -> an OpenAI Chat Completions body.

    The token limit goes out as `max_completion_tokens`: OpenAI's deprecated
    `max_tokens` is refused by its reasoning models.
    """
    messages: list[JSON] = []
    system = _text_of(body.get("system"), _SYSTEM_SEPARATOR)
    if system:
        messages.append({"role": "system", "content": system})
    for turn in body.get("messages") or []:
        messages += _turn_to_messages(turn)
    result: JSON = {"messages": messages}
    if body.get("model"):
        result["model"] = body["model"]
    if body.get("max_tokens"):
        result["max_completion_tokens"] = body["max_tokens"]
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            result[name] = body[name]
    if body.get("stop_sequences"):
        result["stop"] = list(body["stop_sequences"])
    if body.get("stream"):
        result["stream"] = True
        result["stream_options"] = {"include_usage": True}
    result.update(_openai_tool_fields(body))
    if user := (body.get("metadata") or {}).get("user_id"):
        result["user"] = user
    return result


# --- OpenAI response -> Anthropic response ----------------------------------


def _stop_reason(finish_reason: str | None, has_tool_calls: bool) -> str:
    stop_reason = _STOP_REASONS.get(finish_reason or "", "end_turn")
    # Some compatible providers report "stop" even when the turn ends in tool calls.
    if has_tool_calls and stop_reason == "end_turn":
        return "tool_use"
    return stop_reason


def _lenient_arguments(arguments: Any) -> JSON:
    """Model-written arguments that are not a JSON object become {}, so the client's
    tool reports a missing argument and the model can retry, instead of the whole
    (already paid for) response failing."""
    try:
        return _decode_arguments(arguments)
    except TranslationError:
        return {}


def _call_to_tool_use(call: JSON) -> JSON:
    function = call.get("function") or {}
    return {
        "type": "tool_use",
        "id": call.get("id") or _new_id("toolu_"),
        "name": function.get("name", ""),
        "input": _lenient_arguments(function.get("arguments")),
    }


def openai_response_to_anthropic(resp: JSON, model: str) -> JSON:
    """An OpenAI `chat.completion` -> an Anthropic `message` (first choice only)."""
    choices = resp.get("choices") or [{}]
    message = choices[0].get("message") or {}
    content: list[JSON] = []
    for text in (message.get("content"), message.get("refusal")):
        if text:
            content.append({"type": "text", "text": text})
    calls = message.get("tool_calls") or []
    content += [_call_to_tool_use(c) for c in calls]
    return {
        "id": resp.get("id") or _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _stop_reason(choices[0].get("finish_reason"), bool(calls)),
        "stop_sequence": None,
        "usage": openai_usage_to_anthropic(resp.get("usage") or {}),
    }


# --- OpenAI stream -> Anthropic stream --------------------------------------


class OpenAIStreamToAnthropic:
    """Turns OpenAI `chat.completion.chunk` dicts into Anthropic SSE events.

    Feed each chunk to `chunk`, then call `finish` once the upstream stream ends
    (at `[DONE]` or on disconnect). `usage` holds the latest OpenAI usage seen.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage: JSON = {}
        self._started = False
        self._stopped = False
        self._next_index = 0
        # Index and kind ("text" or "tool_use") of the block left open, if any.
        self._open: tuple[int, str] | None = None
        # OpenAI tool_calls index -> Anthropic content-block index.
        self._tool_blocks: dict[int, int] = {}
        self._finish_reason: str | None = None

    def chunk(self, data: JSON) -> list[tuple[str, JSON]]:
        """Translate one chunk; returns (event type, data) pairs to send."""
        if self._stopped:
            return []
        if isinstance(data.get("error"), dict):
            self._stopped = True
            return [("error", openai_error_to_anthropic(data))]
        events = self._opening(data)
        if data.get("usage"):
            self.usage = data["usage"]
        for choice in data.get("choices") or []:
            if choice.get("index", 0) == 0:
                events += self._choice(choice)
        # With include_usage, the usage chunk (no choices) follows the finish.
        if self._finish_reason and self.usage and not data.get("choices"):
            events += self._closing()
        return events

    def finish(self) -> list[tuple[str, JSON]]:
        """Close whatever the upstream stream left open."""
        if self._stopped:
            return []
        return self._opening({}) + self._closing()

    def _opening(self, data: JSON) -> list[tuple[str, JSON]]:
        if self._started:
            return []
        self._started = True
        message: JSON = {
            "id": data.get("id") or _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # OpenAI reports usage only at the end; message_delta carries it.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _choice(self, choice: JSON) -> list[tuple[str, JSON]]:
        delta = choice.get("delta") or {}
        events: list[tuple[str, JSON]] = []
        for text in (delta.get("content"), delta.get("refusal")):
            if text:
                events += self._text(text)
        for call in delta.get("tool_calls") or []:
            events += self._tool_call(call)
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
            events += self._close_block()
        return events

    def _start_block(self, kind: str, block: JSON) -> list[tuple[str, JSON]]:
        events = self._close_block()
        index = self._next_index
        self._next_index += 1
        self._open = (index, kind)
        start = {"type": "content_block_start", "index": index, "content_block": block}
        return [*events, ("content_block_start", start)]

    def _close_block(self) -> list[tuple[str, JSON]]:
        if self._open is None:
            return []
        index, _ = self._open
        self._open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]

    def _delta(self, index: int, delta: JSON) -> tuple[str, JSON]:
        data = {"type": "content_block_delta", "index": index, "delta": delta}
        return ("content_block_delta", data)

    def _text(self, text: str) -> list[tuple[str, JSON]]:
        events: list[tuple[str, JSON]] = []
        if self._open is None or self._open[1] != "text":
            events = self._start_block("text", {"type": "text", "text": ""})
        index = self._next_index - 1  # the text block is always the newest one
        return [*events, self._delta(index, {"type": "text_delta", "text": text})]

    def _tool_call(self, call: JSON) -> list[tuple[str, JSON]]:
        function = call.get("function") or {}
        position = call.get("index", 0)
        events: list[tuple[str, JSON]] = []
        if position not in self._tool_blocks:
            block: JSON = {
                "type": "tool_use",
                "id": call.get("id") or _new_id("toolu_"),
                "name": function.get("name") or "",
                "input": {},
            }
            events = self._start_block("tool_use", block)
            self._tool_blocks[position] = self._next_index - 1
        if not function.get("arguments"):
            return events
        fragment = {"type": "input_json_delta", "partial_json": function["arguments"]}
        return [*events, self._delta(self._tool_blocks[position], fragment)]

    def _closing(self) -> list[tuple[str, JSON]]:
        self._stopped = True
        stop_reason = _stop_reason(self._finish_reason, bool(self._tool_blocks))
        usage = openai_usage_to_anthropic(self.usage)
        message_delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage,
        }
        return [
            *self._close_block(),
            ("message_delta", message_delta),
            ("message_stop", {"type": "message_stop"}),
        ]
