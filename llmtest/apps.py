from django.contrib.admin.apps import AdminConfig


class GatewayAdminConfig(AdminConfig):
    """Django's admin, with the gateway's dashboard as the default site."""

    default_site = "llmtest.admin_site.GatewayAdminSite"
