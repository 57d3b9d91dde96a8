import json
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from flows import config, routes
from flows.models import Call, Flow, Route, Sample


def _dashboard_url(flow: Flow) -> str | None:
    try:
        return reverse("admin:dashboard_flow", args=[flow.pk])
    except NoReverseMatch:
        # The site in use has no dashboard (only the gateway's own site has one).
        return None


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    change_form_template = "admin/flows/flow_change_form.html"
    list_display = [
        "name",
        "account",
        "dashboard",
        "capture_rate",
        "capture_cap",
        "created_at",
    ]
    list_select_related = ["account"]
    search_fields = ["name", "account__email"]
    list_filter = ["created_at"]

    @admin.display(description="Dashboard")
    def dashboard(self, flow: Flow) -> str:
        url = _dashboard_url(flow)
        return (
            format_html('<a href="{}">costs, models, benchmarks</a>', url)
            if url
            else "—"
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        flow = self.get_object(request, unquote(object_id))
        context = {
            **(extra_context or {}),
            "dashboard_url": _dashboard_url(flow) if flow else None,
        }
        return super().change_view(request, object_id, form_url, context)


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
        "usage_estimated",
    ]
    list_filter = [
        "outcome",
        "source",
        "usage_estimated",
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


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = ["flow", "from_model", "to_model", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        from_model = cleaned.get("from_model")
        if from_model and from_model == cleaned.get("to_model"):
            raise forms.ValidationError(
                "A route from a model to itself changes nothing."
            )
        return cleaned


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    """Routes are switched on and off, not edited: a new route goes through
    `routes.route_set`, which replaces the model's active route and follows chains.
    """

    form = RouteForm
    list_display = ["flow", "switch", "active", "note", "created_at", "updated_at"]
    list_filter = ["active", "flow__name"]
    list_select_related = ["flow"]
    search_fields = [
        "flow__name",
        "flow__account__email",
        "from_model",
        "to_model",
        "note",
    ]
    actions = ["switch_off", "switch_on"]

    @admin.display(description="Route")
    def switch(self, route: Route) -> str:
        return f"{route.from_model} → {route.to_model}"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields = ["flow", "from_model", "to_model", "note"]
        return (
            fields if obj is None else [*fields, "active", "created_at", "updated_at"]
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Only the note of a saved route changes; the rest is switched with actions.
        if obj is None:
            return []
        return ["flow", "from_model", "to_model", "active", "created_at", "updated_at"]

    def save_model(
        self, request: HttpRequest, obj: Route, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        route = routes.route_set(obj.flow, obj.from_model, obj.to_model, obj.note)
        obj.pk, obj.active = route.pk, route.active
        obj.created_at, obj.updated_at = route.created_at, route.updated_at

    def delete_model(self, request: HttpRequest, obj: Route) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(config.invalidate)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Route]) -> None:
        super().delete_queryset(request, queryset)
        transaction.on_commit(config.invalidate)

    @admin.action(description="Switch off (calls get the model they ask for)")
    def switch_off(self, request: HttpRequest, queryset: QuerySet[Route]) -> None:
        switched = [routes.route_disable(route) for route in queryset]
        self.message_user(request, f"Switched off {len(switched)} route(s).")

    @admin.action(description="Switch on (replaces the model's active route)")
    def switch_on(self, request: HttpRequest, queryset: QuerySet[Route]) -> None:
        # Oldest first: of two selected routes for one model, the newer stays on.
        ordered = queryset.select_related("flow").order_by("created_at", "id")
        switched = [routes.route_enable(route) for route in ordered]
        self.message_user(request, f"Switched on {len(switched)} route(s).")


def _readable(content: Any) -> str:
    if isinstance(content, str):
        return content
    return json.dumps(content, indent=2, ensure_ascii=False)


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    """Samples arrive through the API or from live traffic: here they are read, an
    answer is corrected, or a sample deleted. The conversation is not edited, so
    that its digest stays true."""

    list_display = ["created_at", "flow", "account", "source", "model", "opening"]
    list_filter = ["source", "flow__name", "created_at"]
    search_fields = [
        "flow__name",
        "flow__account__email",
        "messages",
        "answer",
        "digest",
    ]
    list_select_related = ["flow__account"]
    fields = [
        "flow",
        "source",
        "model",
        "conversation",
        "answer",
        "digest",
        "created_at",
    ]
    readonly_fields = [
        "flow",
        "source",
        "model",
        "conversation",
        "digest",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Account")
    def account(self, sample: Sample) -> str:
        return str(sample.flow.account)

    @admin.display(description="Opens with")
    def opening(self, sample: Sample) -> str:
        """The first user message, cut short."""
        for message in sample.messages:
            if isinstance(message, dict) and message.get("role") == "user":
                text = _readable(message.get("content"))
                return text if len(text) <= 80 else text[:79] + "…"
        return ""

    @admin.display(description="Messages")
    def conversation(self, sample: Sample) -> SafeString:
        return format_html_join(
            "",
            '<div><strong>{}</strong><pre style="white-space: pre-wrap">{}</pre></div>',
            (
                (message.get("role", "?"), _readable(message.get("content")))
                for message in sample.messages
                if isinstance(message, dict)
            ),
        )
