"""The admin site: Django's own, with the dashboard as its index and a page per flow.

Every app still registers its models with `@admin.register`; this class only adds
what no single app can show, since it reads from all of them.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path

from flows.models import Flow
from llmtest import dashboard


def _sees_traffic(request: HttpRequest) -> bool:
    return request.user.has_perm("flows.view_call")


class GatewayAdminSite(admin.AdminSite):
    site_header = "LLMTest"
    site_title = "LLMTest admin"
    index_title = "Dashboard"
    index_template = "admin/dashboard/index.html"

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        context = {**(extra_context or {})}
        if _sees_traffic(request):
            context["dashboard"] = dashboard.index_context()
        context["can_decide"] = request.user.has_perm("suggestions.change_suggestion")
        return super().index(request, context)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [
            path(
                "dashboard/flow/<int:flow_id>/",
                self.admin_view(self.flow_view),
                name="dashboard_flow",
            ),
            *super().get_urls(),
        ]

    def flow_view(self, request: HttpRequest, flow_id: int) -> HttpResponse:
        """A flow at a glance: cost and latency over time, models, samples,
        benchmarks as cost against quality, and its current route."""
        if not _sees_traffic(request):
            raise PermissionDenied
        flow = get_object_or_404(Flow.objects.select_related("account"), pk=flow_id)
        context = {
            **self.each_context(request),
            **dashboard.flow_context(flow, request.GET.get("benchmark")),
            "title": f"Flow {flow.name}",
            "subtitle": flow.account.email,
            "can_decide": request.user.has_perm("suggestions.change_suggestion"),
        }
        return TemplateResponse(request, "admin/dashboard/flow.html", context)
