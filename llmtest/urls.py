from django.contrib import admin
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import api as accounts_api
from benchmarks import api as benchmarks_api
from flows import api as flows_api
from llmtest import handlers, health
from proxy import api as proxy_api
from proxy import views as proxy_views
from suggestions import api as suggestions_api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("v1/chat/completions", proxy_views.chat_completions, name="chat-completions"),
    path("v1/messages", proxy_views.messages, name="messages"),
    path("v1/models", proxy_views.models, name="models"),
    path("api/status", suggestions_api.StatusApi.as_view(), name="api-status"),
    path("api/flows", flows_api.FlowListApi.as_view(), name="api-flows"),
    path("api/account", accounts_api.AccountApi.as_view(), name="api-account"),
    path("api/feedback", accounts_api.FeedbackCreateApi.as_view(), name="api-feedback"),
    path(
        "api/benchmark",
        benchmarks_api.BenchmarkCreateApi.as_view(),
        name="api-benchmark",
    ),
    path(
        "api/benchmark/<uuid:benchmark_id>/events",
        benchmarks_api.BenchmarkEventsApi.as_view(),
        name="api-benchmark-events",
    ),
    path(
        "api/benchmarks",
        benchmarks_api.BenchmarkListApi.as_view(),
        name="api-benchmarks",
    ),
    path(
        "api/benchmarks/<uuid:benchmark_id>",
        benchmarks_api.BenchmarkDetailApi.as_view(),
        name="api-benchmark-detail",
    ),
    path(
        "api/suggestions",
        suggestions_api.SuggestionListApi.as_view(),
        name="api-suggestions",
    ),
    path(
        "api/suggestions/<int:suggestion_id>",
        suggestions_api.SuggestionDecideApi.as_view(),
        name="api-suggestion-decide",
    ),
    path("api/samples", flows_api.SamplesApi.as_view(), name="api-samples"),
    path(
        "api/models/trending",
        proxy_api.TrendingModelsApi.as_view(),
        name="api-models-trending",
    ),
    # The OpenAPI schema and its Swagger UI: public, like any documentation.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    # Last: every other path under api and v1, with or without a trailing slash
    # (so no slash-appending redirect either), newlines included.
    re_path(r"^(?:api|v1)(?:/[\s\S]*)?$", handlers.api_not_found),
]

handler404 = "llmtest.handlers.not_found"
handler500 = "llmtest.handlers.server_error"
