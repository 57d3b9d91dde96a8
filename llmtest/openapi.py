"""What the OpenAPI schema (drf-spectacular) needs beyond the DRF views themselves.

- the authentication scheme: a `Bearer llmt_…` key, or the same key in `x-api-key`;
- the one error shape (llmtest/errors.py), for the error responses of each operation;
- the /v1 endpoints and /healthz, which are plain Django views drf-spectacular cannot
  see: a postprocessing hook adds them to the schema by hand.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from llmtest.errors import _TYPES
from proxy import validation

BEARER = "bearerAuth"
API_KEY = "apiKeyAuth"

# What each error status means on this gateway, as the docs show it.
_ERROR_DESCRIPTIONS = {
    400: "Bad input; `error.param` names the field.",
    401: "Missing, malformed, unknown or revoked key.",
    402: "The account has no credits left.",
    404: "Not found (or not the caller's).",
    405: "Method not allowed.",
    409: "Already decided.",
    413: "The request body is over MAX_REQUEST_BYTES.",
    429: "The provider's rate limit (its Retry-After is kept).",
    502: "The provider could not be reached, or answered with an error.",
    503: "A dependency (the database, the judge model) is unavailable.",
    504: "The provider did not answer within UPSTREAM_TIMEOUT_S.",
}


class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField()
    type = serializers.ChoiceField(
        choices=sorted({*_TYPES.values(), "api_error"}),
        help_text="The error's kind, as the OpenAI and Anthropic APIs name them.",
    )
    code = serializers.CharField(allow_null=True)
    param = serializers.CharField(
        allow_null=True, help_text="The field or header the error concerns."
    )


class ErrorSerializer(serializers.Serializer):
    """Every error body: readable by both the openai and the anthropic SDK."""

    type = serializers.ChoiceField(choices=["error"])
    error = ErrorDetailSerializer()


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema(responses=…); 401 is always among them."""
    return {
        status: OpenApiResponse(ErrorSerializer, _ERROR_DESCRIPTIONS[status])
        for status in sorted({401, *statuses})
    }


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """accounts.authentication.ApiKeyAuthentication: either header will do."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = [BEARER, API_KEY]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict]:
        # A list of requirements means any one of them.
        return [{BEARER: []}, {API_KEY: []}]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict]:
        return _SECURITY_SCHEMES


_SECURITY_SCHEMES: list[dict[str, Any]] = [
    {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "llmt_…",
        "description": "A gateway key (`manage.py createaccount` prints one).",
    },
    {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "The same gateway key, as the anthropic SDK sends it.",
    },
]


# --- The plain Django views --------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def _error_responses(*statuses: int) -> dict[str, Any]:
    return {
        str(status): _json(_ref("Error"), _ERROR_DESCRIPTIONS[status])
        for status in sorted(statuses)
    }


_MODEL_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "description": "A model id: `provider/model`, or a bare id its family resolves "
    "(`gpt-*`, `o1`/`o3`/`o4*` to OpenAI, `claude-*` to Anthropic).",
    "example": "gpt-4o-mini",
}

_FLOW_HEADER = {
    "name": "X-Flow",
    "in": "header",
    "required": False,
    "description": "The flow the call is recorded under (default `default`): 1-100 "
    "letters, digits and . _ : / -, starting with a letter or digit.",
    "schema": {"type": "string", "maxLength": 100, "example": "support-bot"},
}

_STREAM_NOTE = (
    " With `stream: true` the answer is an SSE stream (`text/event-stream`) in the "
    "provider format, relayed event by event."
)

_V1_COMPONENTS: dict[str, Any] = {
    "ChatMessage": {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": sorted(validation.CHAT_ROLES)},
            "content": {
                "description": "Text, or an array of content parts (passed through).",
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "object"}},
                ],
                "nullable": True,
            },
        },
        "additionalProperties": True,
    },
    "ChatCompletionRequest": {
        "type": "object",
        "description": "OpenAI's chat completions request. Fields the gateway does "
        "not need (tools, response_format, n, seed, …) pass through untouched.",
        "required": ["model", "messages"],
        "properties": {
            "model": _MODEL_ID,
            "messages": {"type": "array", "minItems": 1, "items": _ref("ChatMessage")},
            "stream": {"type": "boolean", "nullable": True},
            "stream_options": {"type": "object", "nullable": True},
            "max_tokens": {"type": "integer", "minimum": 0, "nullable": True},
            "temperature": {"type": "number", "nullable": True},
        },
        "additionalProperties": True,
    },
    "ChatCompletion": {
        "type": "object",
        "description": "The provider's answer, in OpenAI's format.",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "example": "chat.completion"},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "message": _ref("ChatMessage"),
                        "finish_reason": {"type": "string", "nullable": True},
                    },
                },
            },
            "usage": {
                "type": "object",
                "properties": {
                    "prompt_tokens": {"type": "integer"},
                    "completion_tokens": {"type": "integer"},
                    "total_tokens": {"type": "integer"},
                },
            },
        },
        "additionalProperties": True,
    },
    "AnthropicMessage": {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"type": "string", "enum": sorted(validation.MESSAGES_ROLES)},
            "content": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "object"}},
                ]
            },
        },
        "additionalProperties": True,
    },
    "MessagesRequest": {
        "type": "object",
        "description": "Anthropic's Messages request; other fields (system, tools, "
        "metadata, …) pass through untouched.",
        "required": ["model", "messages", "max_tokens"],
        "properties": {
            "model": _MODEL_ID,
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": _ref("AnthropicMessage"),
            },
            "max_tokens": {"type": "integer", "minimum": 0},
            "system": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "object"}},
                ]
            },
            "stream": {"type": "boolean", "nullable": True},
            "temperature": {"type": "number"},
        },
        "additionalProperties": True,
    },
    "MessagesResponse": {
        "type": "object",
        "description": "The provider's answer, in Anthropic's format.",
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string", "example": "message"},
            "role": {"type": "string", "example": "assistant"},
            "model": {"type": "string"},
            "content": {"type": "array", "items": {"type": "object"}},
            "stop_reason": {"type": "string", "nullable": True},
            "usage": {
                "type": "object",
                "properties": {
                    "input_tokens": {"type": "integer"},
                    "output_tokens": {"type": "integer"},
                    "cache_read_input_tokens": {"type": "integer", "nullable": True},
                    "cache_creation_input_tokens": {
                        "type": "integer",
                        "nullable": True,
                    },
                },
            },
        },
        "additionalProperties": True,
    },
    "ModelList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "object", "created", "owned_by"],
                    "properties": {
                        "id": {"type": "string", "example": "openai/gpt-4o-mini"},
                        "object": {"type": "string", "enum": ["model"]},
                        "created": {"type": "integer"},
                        "owned_by": {"type": "string", "example": "openai"},
                    },
                },
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "database", "redis"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "database": {"type": "string", "enum": ["ok", "down"]},
            "redis": {"type": "string", "enum": ["ok", "down", "not configured"]},
        },
    },
}

_PROXY_ERRORS = (400, 401, 402, 405, 413, 429, 502, 503, 504)


def _proxy_post(
    operation_id: str,
    summary: str,
    request: str,
    response: str,
    security: list[dict[str, list]],
) -> dict[str, Any]:
    stream_event = {
        "type": "string",
        "description": "SSE events in the provider format.",
    }
    ok = _json(_ref(response), "The provider's answer." + _STREAM_NOTE)
    ok["content"]["text/event-stream"] = {"schema": stream_event}
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["v1"],
            "parameters": [_FLOW_HEADER],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(request)}},
            },
            "security": security,
            "responses": {"200": ok, **_error_responses(*_PROXY_ERRORS)},
        }
    }


def _v1_paths() -> dict[str, Any]:
    either: list[dict[str, list]] = [{BEARER: []}, {API_KEY: []}]
    return {
        "/v1/chat/completions": _proxy_post(
            "v1_chat_completions_create",
            "Proxy a chat completion (OpenAI format) to its provider.",
            "ChatCompletionRequest",
            "ChatCompletion",
            either,
        ),
        "/v1/messages": _proxy_post(
            "v1_messages_create",
            "Proxy a message (Anthropic format) to its provider.",
            "MessagesRequest",
            "MessagesResponse",
            # The anthropic SDK sends its key as x-api-key; Bearer works too.
            [{API_KEY: []}, {BEARER: []}],
        ),
        "/v1/models": {
            "get": {
                "operationId": "v1_models_list",
                "summary": "The models the gateway can serve as written.",
                "tags": ["v1"],
                "security": either,
                "responses": {
                    "200": _json(_ref("ModelList"), "Every servable model id."),
                    **_error_responses(401, 405),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Whether the database and (when configured) Redis answer.",
                "tags": ["health"],
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "Healthy."),
                    "503": _json(_ref("Health"), "The database or Redis is down."),
                },
            }
        },
    }


def add_gateway_endpoints(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the plain Django views."""
    result.setdefault("paths", {}).update(_v1_paths())
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_V1_COMPONENTS)
    return result
