import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from llmtest.errors import GatewayError
from suggestions import services
from suggestions.models import Suggestion

Decide = Callable[[Suggestion], object]

# Every field is read-only: a decision is the only change, and it has its buttons.
_FIELDS = (
    "account",
    "flow",
    "current_model",
    "suggested_model",
    "optimize_for",
    "summary",
    "pretty_figures",
    "status",
    "benchmark_link",
    "superseded_by_link",
    "created_at",
    "decided_at",
)


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    """Suggestions are read-only facts; the one change is a decision, made with the
    actions or the buttons on a suggestion's page, through the API's services."""

    change_form_template = "admin/suggestions/suggestion_change_form.html"
    list_display = ["flow", "switch", "status", "summary", "created_at"]
    list_filter = ["status", "optimize_for", "created_at"]
    list_select_related = ["flow"]
    search_fields = [
        "flow__name",
        "account__email",
        "current_model",
        "suggested_model",
        "summary",
    ]
    date_hierarchy = "created_at"
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["accept_selected", "dismiss_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Switch")
    def switch(self, suggestion: Suggestion) -> str:
        return f"{suggestion.current_model} → {suggestion.suggested_model}"

    @admin.display(description="Figures")
    def pretty_figures(self, suggestion: Suggestion) -> str:
        text = json.dumps(suggestion.figures, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    @admin.display(description="Benchmark")
    def benchmark_link(self, suggestion: Suggestion) -> str:
        if suggestion.benchmark_id is None:
            return "—"
        try:
            url = reverse(
                "admin:benchmarks_benchmark_change", args=[suggestion.benchmark_id]
            )
        except NoReverseMatch:
            # The benchmark admin may not be registered: show the id alone.
            return str(suggestion.benchmark_id)
        return format_html('<a href="{}">{}</a>', url, suggestion.benchmark_id)

    @admin.display(description="Superseded by")
    def superseded_by_link(self, suggestion: Suggestion) -> str:
        if suggestion.superseded_by_id is None:
            return "—"
        url = reverse(
            "admin:suggestions_suggestion_change", args=[suggestion.superseded_by_id]
        )
        return format_html(
            '<a href="{}">suggestion {}</a>', url, suggestion.superseded_by_id
        )

    # --- deciding -------------------------------------------------------------------

    @admin.action(
        description="Accept selected (routes their flows)", permissions=["change"]
    )
    def accept_selected(
        self, request: HttpRequest, queryset: QuerySet[Suggestion]
    ) -> None:
        self._decide_all(request, queryset, services.suggestion_accept, "Accepted")

    @admin.action(description="Dismiss selected", permissions=["change"])
    def dismiss_selected(
        self, request: HttpRequest, queryset: QuerySet[Suggestion]
    ) -> None:
        self._decide_all(request, queryset, services.suggestion_dismiss, "Dismissed")

    def _decide_all(
        self,
        request: HttpRequest,
        queryset: QuerySet[Suggestion],
        decide: Decide,
        done: str,
    ) -> None:
        # Oldest first, so that when two are accepted for the same model the newer
        # one's route is the one left standing.
        decided, skipped = 0, 0
        for suggestion in queryset.select_related("flow").order_by("created_at", "id"):
            try:
                decide(suggestion)
            except GatewayError:
                skipped += 1
            else:
                decided += 1
        self.message_user(request, f"{done} {decided} suggestion(s).")
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} suggestion(s) already decided.",
                messages.WARNING,
            )

    def get_urls(self) -> list[URLPattern]:
        # Ahead of the defaults, whose "<object_id>/" pattern would catch these.
        return [
            path(
                "<path:object_id>/accept/",
                self.admin_site.admin_view(self.accept_view),
                name="suggestions_suggestion_accept",
            ),
            path(
                "<path:object_id>/dismiss/",
                self.admin_site.admin_view(self.dismiss_view),
                name="suggestions_suggestion_dismiss",
            ),
            *super().get_urls(),
        ]

    def accept_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide_one(request, object_id, services.suggestion_accept)

    def dismiss_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide_one(request, object_id, services.suggestion_dismiss)

    def _decide_one(
        self, request: HttpRequest, object_id: str, decide: Decide
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        suggestion = self.get_object(request, unquote(object_id))
        if suggestion is None:
            raise Http404(f"No suggestion with id {object_id}.")
        if not self.has_change_permission(request, suggestion):
            raise PermissionDenied

        try:
            decide(suggestion)
        except GatewayError as error:
            self.message_user(request, error.message, messages.WARNING)
        else:
            self.message_user(
                request, f"Suggestion {suggestion.pk} {suggestion.status}."
            )

        return HttpResponseRedirect(self._back(request, suggestion))

    def _back(self, request: HttpRequest, suggestion: Suggestion) -> str:
        """Where the button was pressed (a page of this site, as `next` says, such
        as the dashboard), else the suggestion's page."""
        wanted = request.POST.get("next", "")
        if wanted and url_has_allowed_host_and_scheme(
            wanted,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        ):
            return wanted
        return reverse("admin:suggestions_suggestion_change", args=[suggestion.pk])

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Nothing on the page is editable: the buttons that count are accept and
        # dismiss, which the template adds for a pending suggestion.
        context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, context)
