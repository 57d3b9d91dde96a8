"""The OpenAPI schema at /api/schema/ and its Swagger UI at /api/docs/."""

import re

import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

# URL names that are the documentation itself, not endpoints it documents.
_SELF = {"api-schema", "api-docs"}
_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def schema(client: Client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _endpoints() -> list[tuple[str, URLPattern]]:
    """Every path() under api/ and v1/ with its pattern (the catch-all is a re_path
    and has no route)."""
    found = []
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) or pattern.name in _SELF:
            continue
        route = getattr(pattern.pattern, "_route", None)
        if route and route.startswith(("api/", "v1/")):
            found.append((route, pattern))
    return found


def _openapi_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_the_schema_is_served_without_a_key_and_is_valid_openapi(schema):
    validate_schema(schema)

    assert schema["openapi"].startswith("3.")


def test_the_schema_is_generated_without_a_warning():
    # Each warning is a place where drf-spectacular had to guess (a view without
    # extend_schema, a field of unknown type).
    GENERATOR_STATS.reset()

    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)

    assert not GENERATOR_STATS, (
        GENERATOR_STATS._warn_cache | GENERATOR_STATS._error_cache
    )


def test_every_api_and_v1_url_pattern_is_in_the_schema(schema):
    endpoints = _endpoints()

    missing = [
        route for route, _ in endpoints if _openapi_path(route) not in schema["paths"]
    ]

    assert len(endpoints) >= 14
    assert missing == [], "add these to the OpenAPI schema: " + ", ".join(missing)


def test_every_method_a_drf_view_serves_is_in_the_schema(schema):
    missing = []
    for route, pattern in _endpoints():
        view = getattr(pattern.callback, "cls", None)
        if view is None:
            continue
        operations = schema["paths"].get(_openapi_path(route), {})
        for method in _METHODS:
            if hasattr(view, method) and method not in operations:
                missing.append(f"{method.upper()} /{route}")

    assert missing == []


def test_every_operation_but_healthz_needs_a_key_and_says_how_it_fails(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path == "/healthz":
                assert operation["security"] == []
                continue
            schemes = {name for entry in operation["security"] for name in entry}
            assert schemes == {"bearerAuth", "apiKeyAuth"}, (method, path)
            # 204 No Content is the one success without a body.
            ok = [
                code
                for code in operation["responses"]
                if code.startswith("2") and code != "204"
            ]
            assert ok and all(
                operation["responses"][code].get("content") for code in ok
            ), (method, path)
            unauthorized = operation["responses"]["401"]["content"]
            body = unauthorized["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_the_key_schemes_are_a_bearer_token_and_the_x_api_key_header(schema):
    schemes = schema["components"]["securitySchemes"]

    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": schemes["apiKeyAuth"]["description"],
    }


def test_the_error_shape_is_the_one_errors_py_writes(schema):
    components = schema["components"]["schemas"]

    error = components["Error"]
    detail = components["ErrorDetail"]

    assert set(error["required"]) == {"type", "error"}
    assert set(detail["properties"]) == {"message", "type", "code", "param"}


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/benchmark", "post"), ("/api/benchmark/{benchmark_id}/events", "get")],
)
def test_the_benchmark_streams_are_described_as_server_sent_events(
    schema, path, method
):
    ok = schema["paths"][path][method]["responses"]["200"]

    data = ok["content"]["text/event-stream"]["schema"]
    shapes = schema["components"]["schemas"][data["$ref"].rsplit("/", 1)[1]]["oneOf"]

    assert [shape["$ref"].rsplit("/", 1)[1] for shape in shapes] == [
        "ProgressEvent",
        "BenchmarkResult",
        "RunErrorEvent",
    ]
    for event in ("progress", "result", "error"):
        assert f"`{event}`" in ok["description"]


def test_the_v1_endpoints_have_request_and_response_shapes(schema):
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    messages = schema["paths"]["/v1/messages"]["post"]
    models = schema["paths"]["/v1/models"]["get"]
    components = schema["components"]["schemas"]

    assert set(components["ChatCompletionRequest"]["required"]) == {"model", "messages"}
    assert "max_tokens" in components["MessagesRequest"]["required"]
    assert chat["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert messages["security"][0] == {"apiKeyAuth": []}
    assert models["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ModelList"
    }


def test_the_docs_page_needs_no_key_and_loads_nothing_from_another_host(client):
    response = client.get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui" in page
    assert "drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)


def test_an_unknown_schema_format_is_a_404_that_says_so(client: Client):
    response = client.get("/api/schema/", {"format": "xml"})

    # Rendered like the schema itself (YAML, a superset of JSON), by DRF.
    body = yaml.safe_load(response.content)
    assert response.status_code == 404
    assert body["error"]["message"]
