"""The flow name as the APIs take it."""

from typing import Any

from django.core.validators import RegexValidator

from flows.models import FLOW_NAME_PATTERN
from llmtest.fields import StrictCharField

FLOW_NAME_RULE = (
    "Must be 1-100 characters: letters, digits and . _ : / - (starting with a "
    "letter or digit)."
)


class FlowNameField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(FLOW_NAME_PATTERN, FLOW_NAME_RULE))
