from django.apps import AppConfig


class SuggestionsConfig(AppConfig):
    name = "suggestions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from suggestions import receivers  # noqa: F401  (connects the receivers)
