from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from flows.admin import RouteAdmin, RouteForm
from flows.models import Route
from llmtest.errors import GatewayError
from proxy import providers, upstream
from proxy.models import CatalogModel, PriceOverride, Provider


class ProviderForm(forms.ModelForm):
    base_url = forms.URLField(
        max_length=300,
        assume_scheme="https",
        help_text="e.g. https://api.groq.com/openai/v1",
    )
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again; leave empty to keep the "
        "current key.",
    )
    clear_api_key = forms.BooleanField(required=False)

    class Meta:
        model = Provider
        fields = ["name", "kind", "base_url", "enabled"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["name", "kind", "base_url", "api_key_hint", "enabled"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["api_key_hint", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: Provider, form: Any, change: bool
    ) -> None:
        if form.cleaned_data.get("clear_api_key"):
            obj.set_api_key("")
        elif form.cleaned_data.get("api_key"):
            obj.set_api_key(form.cleaned_data["api_key"])
        super().save_model(request, obj, form, change)


@admin.register(PriceOverride)
class PriceOverrideAdmin(admin.ModelAdmin):
    list_display = [
        "model",
        "input_per_mtok",
        "cached_input_per_mtok",
        "cache_write_per_mtok",
        "output_per_mtok",
    ]
    search_fields = ["model"]


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    """Read-only: the rows are written by the catalog and the models.dev sync."""

    list_display = [
        "provider",
        "model",
        "release_date",
        "context_window",
        "tool_call",
        "created_at",
        "synced_at",
    ]
    list_filter = ["provider", "baseline"]
    search_fields = ["model", "name"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: CatalogModel | None = None
    ) -> bool:
        return False


class ServableRouteForm(RouteForm):
    """The flows app's route form, which cannot know providers (flows never imports
    proxy), with the check only the provider layer can make: a route to a model
    no configured provider serves would send the flow's calls nowhere, and would
    repoint the routes that led to its model."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        to_model = cleaned.get("to_model")
        if to_model:
            try:
                resolved = providers.snapshot().resolve(to_model)
                upstream.require_key(resolved.provider)
            except GatewayError as error:
                raise forms.ValidationError(
                    {"to_model": f"No call could be served by it: {error.message}"}
                ) from error
        return cleaned


class ServableRouteAdmin(RouteAdmin):
    form = ServableRouteForm


admin.site.unregister(Route)
admin.site.register(Route, ServableRouteAdmin)
