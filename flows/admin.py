from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from flows.models import Call, Flow


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "created_at"]
    search_fields = ["name", "account__email"]
    list_filter = ["created_at"]


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """Calls are facts: read-only, filterable by flow, model, outcome and date."""

    list_display = [
        "created_at",
        "account",
        "flow",
        "requested_model",
        "served_model",
        "outcome",
        "http_status",
        "input_tokens",
        "output_tokens",
        "latency_ms",
        "cost_usd",
    ]
    list_filter = [
        "outcome",
        "source",
        "provider",
        "served_model",
        "flow__name",
        "created_at",
    ]
    search_fields = ["flow__name", "requested_model", "served_model", "account__email"]
    date_hierarchy = "created_at"
    list_select_related = ["account", "flow"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
