"""Tests for proxy.translate, with every translated shape checked against the
official OpenAI and Anthropic SDK types."""

import json
from typing import Any

import anthropic.types as at
import openai.types.chat as oc
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import message_create_params
from anthropic.types.shared import ErrorResponse
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import completion_create_params
from openai.types.shared import ErrorObject
from pydantic import TypeAdapter

from proxy.translate import (
    DEFAULT_MAX_TOKENS,
    AnthropicStreamToOpenAI,
    OpenAIStreamToAnthropic,
    TranslationError,
    anthropic_error_to_openai,
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    openai_error_to_anthropic,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
)

# A 1x1 PNG.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)
PNG_DATA_URL = f"data:image/png;base64,{PNG_B64}"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
# The SDK's request TypedDicts lack the sampling fields that the Messages API still
# accepts on older models, so request checks allow them on top.
SAMPLING_FIELDS = {"temperature", "top_p"}

_anthropic_events = TypeAdapter(at.RawMessageStreamEvent)


# --- helpers ----------------------------------------------------------------


def _drain(value: Any) -> Any:
    """Walk a validated TypedDict, consuming the lazy iterators pydantic returns
    for Iterable fields, so every nested item is validated too."""
    if isinstance(value, dict):
        return {key: _drain(item) for key, item in value.items()}
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    return [_drain(item) for item in value]


def _allowed_keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def assert_valid_anthropic_request(body: dict) -> None:
    params = (
        message_create_params.MessageCreateParamsStreaming
        if body.get("stream")
        else message_create_params.MessageCreateParamsNonStreaming
    )
    # The adapter must outlive the draining: the lazy iterators use its schema.
    adapter = TypeAdapter(params)
    _drain(adapter.validate_python(body))
    assert set(body) <= _allowed_keys(params) | SAMPLING_FIELDS


def assert_valid_openai_request(body: dict) -> None:
    params = (
        completion_create_params.CompletionCreateParamsStreaming
        if body.get("stream")
        else completion_create_params.CompletionCreateParamsNonStreaming
    )
    # The adapter must outlive the draining: the lazy iterators use its schema.
    adapter = TypeAdapter(params)
    _drain(adapter.validate_python(body))
    assert set(body) <= _allowed_keys(params)


def run_anthropic_stream(
    translator: AnthropicStreamToOpenAI, events: list[dict]
) -> list[dict]:
    chunks = []
    for data in events:
        chunks += translator.event(data["type"], data)
    return chunks


def accumulate_openai_chunks(chunks: list[dict]) -> oc.ChatCompletion:
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(oc.ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


def accumulate_anthropic_events(events: list[tuple[str, dict]]) -> at.Message:
    snapshot = None
    buffers: dict[int, bytes] = {}
    for event_type, data in events:
        event = _anthropic_events.validate_python(data)
        assert event.type == event_type
        snapshot = accumulate_event(
            event=event, current_snapshot=snapshot, json_bufs=buffers
        )
    assert snapshot is not None
    return at.Message.model_validate(snapshot.to_dict())


def anthropic_message(**overrides: Any) -> dict:
    message = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6},
    }
    return message | overrides


def openai_completion(message: dict, finish_reason: str, usage: dict) -> dict:
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }


def openai_chunk(delta: dict | None, finish_reason: str | None = None) -> dict:
    chunk: dict = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini",
        "choices": [],
    }
    if delta is not None:
        chunk["choices"] = [
            {"index": 0, "delta": delta, "finish_reason": finish_reason}
        ]
    return chunk


# Modeled on the documented Anthropic streaming example: text, with a ping mixed in.
ANTHROPIC_TEXT_STREAM = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5-20250929",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 10,
                "cache_read_input_tokens": 100,
                "output_tokens": 1,
            },
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    },
    {"type": "ping"},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hello"},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "!"},
    },
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    },
    {"type": "message_stop"},
]

# Modeled on the documented tool-use streaming example: text, then a tool call
# whose input arrives as partial JSON (starting with an empty fragment).
ANTHROPIC_TOOL_STREAM = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "stop_sequence": None,
            "usage": {"input_tokens": 472, "output_tokens": 2},
            "content": [],
            "stop_reason": None,
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Let me check."},
    },
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {},
        },
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": "San'},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": ' Francisco"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 89},
    },
    {"type": "message_stop"},
]


# --- OpenAI request -> Anthropic request ------------------------------------


def test_system_and_developer_messages_are_lifted_into_one_system_prompt() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use SI."}]},
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": "Answer in French."},
        ],
    }

    result = openai_request_to_anthropic(body)

    assert result["system"] == "Be brief.\n\nUse SI.\n\nAnswer in French."
    assert result["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]}
    ]
    assert_valid_anthropic_request(result)


def test_consecutive_messages_of_one_role_are_merged_into_one_turn() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "user", "content": "First"},
            {"role": "user", "content": [{"type": "text", "text": "Second"}]},
            {"role": "assistant", "content": "Reply"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "Third"},
        ],
    }

    result = openai_request_to_anthropic(body)

    assert result["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "First"},
                {"type": "text", "text": "Second"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Reply"}]},
        {"role": "user", "content": [{"type": "text", "text": "Third"}]},
    ]
    assert_valid_anthropic_request(result)


def test_image_parts_become_base64_or_url_image_blocks() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare these."},
                    {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "https://example.com/cat.jpg",
                            "detail": "high",
                        },
                    },
                ],
            }
        ],
    }

    result = openai_request_to_anthropic(body)

    assert result["messages"][0]["content"] == [
        {"type": "text", "text": "Compare these."},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
        },
        {
            "type": "image",
            "source": {"type": "url", "url": "https://example.com/cat.jpg"},
        },
    ]
    assert_valid_anthropic_request(result)


@pytest.mark.parametrize(
    "url",
    [
        "data:image/bmp;base64,Qk0=",
        "data:image/png,not-base64",
        "ftp://example.com/cat.png",
    ],
)
def test_images_anthropic_cannot_take_are_rejected(url: str) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": url}}],
            }
        ],
    }

    with pytest.raises(TranslationError):
        openai_request_to_anthropic(body)


def test_assistant_tool_calls_and_tool_messages_become_tool_use_and_results() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city": "Paris"}',
                        },
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [{"type": "text", "text": "21C"}],
            },
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA},
            }
        ],
    }

    result = openai_request_to_anthropic(body)

    assert result["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "get_weather",
                    "input": {},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": [{"type": "text", "text": "21C"}],
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]
    assert_valid_anthropic_request(result)


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]"])
def test_tool_call_arguments_that_are_not_a_json_object_are_rejected(
    arguments: str,
) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": arguments},
                    }
                ],
            }
        ],
    }

    with pytest.raises(TranslationError, match="arguments"):
        openai_request_to_anthropic(body)


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({}, DEFAULT_MAX_TOKENS),
        ({"max_tokens": 300}, 300),
        ({"max_tokens": 300, "max_completion_tokens": 500}, 500),
    ],
)
def test_max_tokens_comes_from_either_openai_field_or_defaults_to_4096(
    limits: dict, expected: int
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]} | limits

    result = openai_request_to_anthropic(body)

    assert result["max_tokens"] == expected


def test_sampling_stop_stream_and_user_are_carried_over() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 1.6,
        "stop": "END",
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "user-42",
    }

    result = openai_request_to_anthropic(body)

    assert result["temperature"] == 1.0
    assert result["stop_sequences"] == ["END"]
    assert result["stream"] is True
    assert result["metadata"] == {"user_id": "user-42"}
    assert_valid_anthropic_request(result)


def test_top_p_goes_through_only_when_temperature_is_absent() -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}

    alone = openai_request_to_anthropic(base | {"top_p": 0.9, "stop": ["a", "b"]})
    both = openai_request_to_anthropic(base | {"top_p": 0.9, "temperature": 0.2})

    assert alone["top_p"] == 0.9
    assert alone["stop_sequences"] == ["a", "b"]
    assert both["temperature"] == 0.2
    assert "top_p" not in both


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
        (
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [{"type": "function", "function": {"name": "get_time"}}],
                },
            },
            {"type": "any"},
        ),
    ],
)
def test_function_tools_and_tool_choice_are_translated(
    tool_choice: Any, expected: dict
) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": WEATHER_SCHEMA,
                    "strict": True,
                },
            },
            {"type": "function", "function": {"name": "get_time"}},
        ],
        "tool_choice": tool_choice,
    }

    result = openai_request_to_anthropic(body)

    assert result["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather",
            "input_schema": WEATHER_SCHEMA,
        },
        {"name": "get_time", "input_schema": {"type": "object"}},
    ]
    assert result["tool_choice"] == expected
    assert_valid_anthropic_request(result)


def test_turning_off_parallel_tool_calls_disables_parallel_tool_use() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        "parallel_tool_calls": False,
    }

    result = openai_request_to_anthropic(body)

    assert result["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert_valid_anthropic_request(result)


def test_tool_choice_without_tools_is_left_out() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "tool_choice": "none",
    }

    result = openai_request_to_anthropic(body)

    assert "tool_choice" not in result
    assert "tools" not in result


def test_openai_only_fields_are_dropped() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hi"}],
        "frequency_penalty": 0.5,
        "presence_penalty": 0.1,
        "logit_bias": {"50256": -100},
        "seed": 7,
        "logprobs": True,
        "response_format": {"type": "text"},
        "stream_options": {"include_usage": True},
        "store": True,
    }

    result = openai_request_to_anthropic(body)

    assert set(result) == {"model", "messages", "max_tokens"}
    assert_valid_anthropic_request(result)


@pytest.mark.parametrize(
    "message",
    [
        {
            "role": "user",
            "content": [
                {
                    "type": "input_audio",
                    "input_audio": {"data": "AA==", "format": "wav"},
                }
            ],
        },
        {"role": "function", "name": "f", "content": "x"},
        {
            "role": "system",
            "content": [{"type": "image_url", "image_url": {"url": PNG_DATA_URL}}],
        },
    ],
)
def test_content_anthropic_cannot_express_is_rejected(message: dict) -> None:
    body = {"model": "m", "messages": [message]}

    with pytest.raises(TranslationError):
        openai_request_to_anthropic(body)


def test_asking_for_several_choices_is_rejected() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "n": 2}

    with pytest.raises(TranslationError, match="n must be 1"):
        openai_request_to_anthropic(body)


# --- Anthropic response -> OpenAI response ----------------------------------


def test_a_text_message_becomes_a_chat_completion() -> None:
    resp = anthropic_message(
        content=[{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}]
    )

    result = anthropic_response_to_openai(resp, "my-model")

    completion = oc.ChatCompletion.model_validate(result)
    assert completion.id == resp["id"]
    assert completion.model == "my-model"
    assert isinstance(result["created"], int)
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].finish_reason == "stop"


def test_tool_use_blocks_become_tool_calls_with_json_string_arguments() -> None:
    resp = anthropic_message(
        content=[
            {"type": "thinking", "thinking": "They want weather.", "signature": "sig"},
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "get_weather",
                "input": {"city": "San Francisco", "unit": "celsius"},
            },
        ],
        stop_reason="tool_use",
    )
    at.Message.model_validate(resp)

    result = anthropic_response_to_openai(resp, "my-model")

    choice = oc.ChatCompletion.model_validate(result).choices[0]
    assert choice.message.content is None
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {
        "city": "San Francisco",
        "unit": "celsius",
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "stop"),
    ],
)
def test_stop_reasons_map_to_openai_finish_reasons(
    stop_reason: str, finish_reason: str
) -> None:
    resp = anthropic_message(stop_reason=stop_reason)

    result = anthropic_response_to_openai(resp, "m")

    assert result["choices"][0]["finish_reason"] == finish_reason
    oc.ChatCompletion.model_validate(result)


def test_usage_counts_cache_reads_and_writes_as_prompt_tokens() -> None:
    resp = anthropic_message(
        usage={
            "input_tokens": 10,
            "cache_read_input_tokens": 2000,
            "cache_creation_input_tokens": 300,
            "output_tokens": 50,
        }
    )

    result = anthropic_response_to_openai(resp, "m")

    usage = oc.ChatCompletion.model_validate(result).usage
    assert usage is not None
    assert usage.prompt_tokens == 2310
    assert usage.completion_tokens == 50
    assert usage.total_tokens == 2360
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 2000


# --- Anthropic stream -> OpenAI stream --------------------------------------


def test_a_text_stream_becomes_role_content_finish_and_usage_chunks() -> None:
    translator = AnthropicStreamToOpenAI("my-model", include_usage=True)

    chunks = run_anthropic_stream(translator, ANTHROPIC_TEXT_STREAM)

    for chunk in chunks:
        oc.ChatCompletionChunk.model_validate(chunk)
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "Hello"},
        {"content": "!"},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 135,
        "completion_tokens": 15,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    assert {c["id"] for c in chunks} == {"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"}
    assert {c["model"] for c in chunks} == {"my-model"}
    final = accumulate_openai_chunks(chunks)
    assert final.choices[0].message.content == "Hello!"


def test_a_tool_use_stream_becomes_tool_call_deltas() -> None:
    translator = AnthropicStreamToOpenAI("my-model", include_usage=False)

    chunks = run_anthropic_stream(translator, ANTHROPIC_TOOL_STREAM)

    tool_deltas = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert tool_deltas == [
        [
            {
                "index": 0,
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ],
        [{"index": 0, "function": {"arguments": '{"city": "San'}}],
        [{"index": 0, "function": {"arguments": ' Francisco"}'}}],
    ]
    final = accumulate_openai_chunks(chunks)
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    [call] = choice.message.tool_calls or []
    assert json.loads(call.function.arguments) == {"city": "San Francisco"}


def test_stream_usage_takes_output_tokens_from_message_delta_not_message_start() -> (
    None
):
    translator = AnthropicStreamToOpenAI("m", include_usage=True)

    chunks = run_anthropic_stream(translator, ANTHROPIC_TOOL_STREAM)

    assert chunks[-1]["usage"]["completion_tokens"] == 89
    assert chunks[-1]["usage"]["prompt_tokens"] == 472
    assert translator.usage == {"input_tokens": 472, "output_tokens": 89}


def test_stream_usage_prefers_input_counts_carried_by_message_delta() -> None:
    events = [*ANTHROPIC_TEXT_STREAM]
    events[-2] = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "input_tokens": 40,
            "cache_read_input_tokens": None,
            "output_tokens": 20,
        },
    }
    translator = AnthropicStreamToOpenAI("m", include_usage=True)

    chunks = run_anthropic_stream(translator, events)

    assert translator.usage == {
        "input_tokens": 40,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 100,
        "output_tokens": 20,
    }
    assert chunks[-1]["usage"]["prompt_tokens"] == 150
    assert chunks[-1]["usage"]["total_tokens"] == 170


def test_a_stream_without_include_usage_ends_on_the_finish_chunk() -> None:
    translator = AnthropicStreamToOpenAI("m", include_usage=False)

    chunks = run_anthropic_stream(translator, ANTHROPIC_TEXT_STREAM)

    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)
    assert translator.usage["output_tokens"] == 15


def test_thinking_blocks_and_pings_produce_no_chunks() -> None:
    translator = AnthropicStreamToOpenAI("m", include_usage=False)
    translator.event("message_start", ANTHROPIC_TEXT_STREAM[0])
    thinking = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Hmm."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQB"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "ping"},
    ]

    chunks = run_anthropic_stream(translator, thinking)

    assert chunks == []


def test_an_error_event_becomes_an_openai_error_object() -> None:
    translator = AnthropicStreamToOpenAI("m", include_usage=True)
    error = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    ErrorResponse.model_validate(error)

    chunks = translator.event("error", error)

    assert chunks == [
        {
            "error": {
                "message": "Overloaded",
                "type": "overloaded_error",
                "param": None,
                "code": None,
            }
        }
    ]
    ErrorObject.model_validate(chunks[0]["error"])


# --- Anthropic request -> OpenAI request ------------------------------------


def test_anthropic_system_blocks_become_one_system_message() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are terse."},
            {
                "type": "text",
                "text": "Today is Monday.",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": [{"role": "user", "content": "Hi"}],
    }

    result = anthropic_request_to_openai(body)

    assert result["messages"] == [
        {"role": "system", "content": "You are terse.\n\nToday is Monday."},
        {"role": "user", "content": "Hi"},
    ]
    assert result["max_completion_tokens"] == 1024
    assert_valid_openai_request(result)


def test_anthropic_images_become_image_url_parts() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 1024,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": PNG_B64,
                        },
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/a.jpg"},
                    },
                    {"type": "text", "text": "What is this?"},
                ],
            }
        ],
    }

    result = anthropic_request_to_openai(body)

    assert result["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.jpg"},
                },
                {"type": "text", "text": "What is this?"},
            ],
        }
    ]
    assert_valid_openai_request(result)


def test_tool_use_and_tool_result_blocks_become_tool_calls_and_tool_messages() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": "Weather in Paris? And a photo."},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Use tools.", "signature": "s"},
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "get_photo",
                        "input": {},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": False,
                        "content": [
                            {"type": "text", "text": "Here it is."},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": PNG_B64,
                                },
                            },
                        ],
                    },
                    {"type": "text", "text": "Thanks!"},
                ],
            },
        ],
    }

    result = anthropic_request_to_openai(body)

    assert result["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"city": "Paris"}',
                    },
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_photo", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "Here it is."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
                {"type": "text", "text": "Thanks!"},
            ],
        },
    ]
    assert_valid_openai_request(result)


def test_inline_system_turns_stay_in_place_as_system_messages() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": [{"type": "text", "text": "Be formal."}]},
            {"role": "user", "content": "Again"},
        ],
    }

    result = anthropic_request_to_openai(body)

    assert result["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "Be formal."},
        {"role": "user", "content": "Again"},
    ]
    assert_valid_openai_request(result)


def test_an_assistant_turn_holding_only_thinking_is_left_out() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "...", "signature": "s"}],
            },
        ],
    }

    result = anthropic_request_to_openai(body)

    assert result["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "none"}, "none"),
        ({"type": "any"}, "required"),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_anthropic_tools_and_tool_choice_become_openai_ones(
    tool_choice: dict, expected: Any
) -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather",
                "input_schema": WEATHER_SCHEMA,
                "cache_control": {"type": "ephemeral"},
            }
        ],
        "tool_choice": tool_choice,
    }

    result = anthropic_request_to_openai(body)

    assert result["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": WEATHER_SCHEMA,
            },
        }
    ]
    assert result["tool_choice"] == expected
    assert_valid_openai_request(result)


def test_sampling_stop_sequences_metadata_and_parallelism_are_carried_over() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "user-42"},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }

    result = anthropic_request_to_openai(body)

    assert result["temperature"] == 0.3
    assert result["top_p"] == 0.8
    assert result["stop"] == ["\n\nHuman:"]
    assert result["user"] == "user-42"
    assert result["parallel_tool_calls"] is False
    assert "top_k" not in result
    assert "thinking" not in result
    assert_valid_openai_request(result)


def test_a_streaming_anthropic_request_asks_the_provider_for_usage() -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
    }

    result = anthropic_request_to_openai(body)

    assert result["stream"] is True
    assert result["stream_options"] == {"include_usage": True}
    assert_valid_openai_request(result)


@pytest.mark.parametrize(
    "body_part",
    [
        {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {
                                "type": "text",
                                "media_type": "text/plain",
                                "data": "x",
                            },
                        }
                    ],
                }
            ]
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "file", "file_id": "f"}}
                    ],
                }
            ]
        },
    ],
)
def test_anthropic_features_openai_cannot_express_are_rejected(body_part: dict) -> None:
    body = {
        "model": "gpt-4o",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hi"}],
    } | body_part

    with pytest.raises(TranslationError):
        anthropic_request_to_openai(body)


# --- OpenAI response -> Anthropic response ----------------------------------


def test_a_chat_completion_becomes_an_anthropic_message() -> None:
    resp = openai_completion(
        {"role": "assistant", "content": "Hello there.", "refusal": None},
        "stop",
        {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29},
    )
    oc.ChatCompletion.model_validate(resp)

    result = openai_response_to_anthropic(resp, "claude-compatible")

    message = at.Message.model_validate(result)
    assert message.model == "claude-compatible"
    assert message.content == [at.TextBlock(type="text", text="Hello there.")]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 19
    assert message.usage.output_tokens == 10


def test_tool_calls_become_tool_use_blocks_even_when_finish_reason_says_stop() -> None:
    resp = openai_completion(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                },
                {
                    "id": "call_def",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{broken"},
                },
            ],
        },
        "stop",
        {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
    )

    result = openai_response_to_anthropic(resp, "m")

    message = at.Message.model_validate(result)
    assert message.stop_reason == "tool_use"
    assert [b.to_dict() for b in message.content] == [
        {
            "type": "tool_use",
            "id": "call_abc",
            "name": "get_weather",
            "input": {"city": "Oslo"},
        },
        {"type": "tool_use", "id": "call_def", "name": "get_time", "input": {}},
    ]


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reasons_map_to_anthropic_stop_reasons(
    finish_reason: str, stop_reason: str
) -> None:
    resp = openai_completion(
        {"role": "assistant", "content": "x"},
        finish_reason,
        {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    )

    result = openai_response_to_anthropic(resp, "m")

    assert at.Message.model_validate(result).stop_reason == stop_reason


def test_cached_prompt_tokens_are_moved_out_of_input_tokens() -> None:
    resp = openai_completion(
        {"role": "assistant", "content": "x"},
        "stop",
        {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        },
    )

    result = openai_response_to_anthropic(resp, "m")

    usage = at.Message.model_validate(result).usage
    assert usage.input_tokens == 86
    assert usage.cache_read_input_tokens == 1920
    assert usage.cache_creation_input_tokens == 0
    assert usage.output_tokens == 300


# --- OpenAI stream -> Anthropic stream --------------------------------------


def test_a_text_stream_becomes_anthropic_events_in_order_with_final_usage() -> None:
    translator = OpenAIStreamToAnthropic("claude-compatible")
    chunks = [
        openai_chunk({"role": "assistant", "content": ""}),
        openai_chunk({"content": "Hello"}),
        openai_chunk({"content": " world"}),
        openai_chunk({}, "stop"),
        openai_chunk(None)
        | {
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 5,
                "total_tokens": 35,
                "prompt_tokens_details": {"cached_tokens": 10},
            }
        },
    ]

    events = [e for c in chunks for e in translator.chunk(c)] + translator.finish()

    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    message = accumulate_anthropic_events(events)
    assert message.content == [at.TextBlock(type="text", text="Hello world")]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 20
    assert message.usage.cache_read_input_tokens == 10
    assert message.usage.output_tokens == 5
    assert translator.usage["total_tokens"] == 35


def test_a_tool_call_stream_becomes_tool_use_blocks_with_json_deltas() -> None:
    translator = OpenAIStreamToAnthropic("m")
    first_call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    second_call = {
        "index": 1,
        "id": "call_2",
        "type": "function",
        "function": {"name": "get_time", "arguments": "{}"},
    }
    chunks = [
        openai_chunk({"role": "assistant", "content": "Checking."}),
        openai_chunk({"tool_calls": [first_call]}),
        openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        openai_chunk(
            {"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}
        ),
        openai_chunk({"tool_calls": [second_call]}),
        openai_chunk({}, "tool_calls"),
    ]

    events = [e for c in chunks for e in translator.chunk(c)] + translator.finish()

    starts = [d for name, d in events if name == "content_block_start"]
    stops = [d["index"] for name, d in events if name == "content_block_stop"]
    assert [s["index"] for s in starts] == [0, 1, 2]
    assert stops == [0, 1, 2]
    message = accumulate_anthropic_events(events)
    assert message.stop_reason == "tool_use"
    assert [b.to_dict() for b in message.content] == [
        {"type": "text", "text": "Checking."},
        {
            "type": "tool_use",
            "id": "call_1",
            "name": "get_weather",
            "input": {"city": "Oslo"},
        },
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
    ]


def test_finish_closes_a_stream_that_ended_without_finish_reason_or_usage() -> None:
    translator = OpenAIStreamToAnthropic("m")
    events = translator.chunk(openai_chunk({"role": "assistant", "content": "Cut"}))

    closing = translator.finish()

    assert [name for name, _ in closing] == [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    message = accumulate_anthropic_events(events + closing)
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 0
    assert translator.finish() == []


def test_usage_on_the_finish_chunk_itself_is_reported_at_finish() -> None:
    translator = OpenAIStreamToAnthropic("m")
    last = openai_chunk({"content": "Hi"}, "length") | {
        "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}
    }

    events = translator.chunk(last)
    closing = translator.finish()

    assert "message_delta" not in [name for name, _ in events]
    message = accumulate_anthropic_events(events + closing)
    assert message.stop_reason == "max_tokens"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 1)


def test_an_empty_upstream_stream_still_yields_a_complete_message() -> None:
    translator = OpenAIStreamToAnthropic("m")

    events = translator.finish()

    assert [name for name, _ in events] == [
        "message_start",
        "message_delta",
        "message_stop",
    ]
    assert accumulate_anthropic_events(events).content == []


def test_an_error_chunk_becomes_an_anthropic_error_event_and_ends_the_stream() -> None:
    translator = OpenAIStreamToAnthropic("m")
    translator.chunk(openai_chunk({"role": "assistant", "content": "Hi"}))
    error = {
        "error": {
            "message": "The server had an error",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }

    events = translator.chunk(error)

    assert events == [
        (
            "error",
            {
                "type": "error",
                "error": {"type": "api_error", "message": "The server had an error"},
            },
        )
    ]
    ErrorResponse.model_validate(events[0][1])
    assert translator.chunk(openai_chunk({"content": "more"})) == []
    assert translator.finish() == []


# --- error bodies -----------------------------------------------------------


def test_anthropic_error_bodies_become_openai_error_bodies() -> None:
    body = {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Slow down"},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }

    result = anthropic_error_to_openai(body)

    error = ErrorObject.model_validate(result["error"])
    assert (error.type, error.message) == ("rate_limit_error", "Slow down")


def test_openai_error_types_anthropic_knows_are_kept() -> None:
    body = {
        "error": {
            "message": "Bad field",
            "type": "invalid_request_error",
            "param": "messages",
            "code": None,
        }
    }

    result = openai_error_to_anthropic(body)

    parsed = ErrorResponse.model_validate(result)
    assert (parsed.error.type, parsed.error.message) == (
        "invalid_request_error",
        "Bad field",
    )
