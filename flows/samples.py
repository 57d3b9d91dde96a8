"""Samples: the conversations of a flow that benchmarks replay.

They come in two ways: seeded through `POST /api/samples` (`samples_add`), or
captured from a share of the flow's proxied calls (`captured_sample` prepares one;
the call recorder writes it). Either way a conversation is stored once per flow,
recognised by the digest of its canonical JSON.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from flows import redaction
from flows.models import Flow, Sample

Message = dict[str, Any]

ROLES = ("system", "developer", "user", "assistant", "tool")
# Fields a seeded message may carry besides role and content, all strings.
_OPTIONAL_FIELDS = ("name", "tool_call_id")
# Rows per INSERT: a sample may be SAMPLE_MAX_BYTES of JSON.
_INSERT_BATCH = 50


class SampleInvalid(ValueError):
    """A sample that breaks a rule. `where` locates the culprit inside the sample
    (`"[1].role"`, `"[0].content[2].text"`; empty for the sample as a whole)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class SamplesAdded:
    flow: str
    added: int
    skipped: int
    total: int


@dataclass(frozen=True, slots=True)
class CapturedSample:
    messages: list[Message]
    answer: str
    digest: str


def canonical_json(messages: list[Message]) -> str:
    """The one JSON text of a conversation: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(
        messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def sample_digest(messages: list[Message]) -> str:
    return hashlib.sha256(canonical_json(messages).encode()).hexdigest()


# PostgreSQL cannot store NUL in text or jsonb: a seeded sample holding one is refused
# (see _storable), and a captured one has it replaced by U+FFFD.
_NUL = "\x00"
_NUL_STAND_IN = "\ufffd"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_NUL, _NUL_STAND_IN)
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


# --- checking a seeded sample -------------------------------------------------------


def _check_part(part: Any, where: str) -> None:
    if not isinstance(part, dict):
        raise SampleInvalid(where, "must be an object with a type.")
    if not isinstance(part.get("type"), str) or not part["type"]:
        raise SampleInvalid(f"{where}.type", "must be a non-empty string.")
    if part["type"] == "text" and not isinstance(part.get("text"), str):
        raise SampleInvalid(f"{where}.text", "must be a string in a text part.")


def _check_content(content: Any, where: str) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise SampleInvalid(where, "must be a string or a non-empty array of parts.")
    for index, part in enumerate(content):
        _check_part(part, f"{where}[{index}]")


def _storable(text: str) -> bool:
    """Whether a text can be stored: PostgreSQL refuses NUL characters, and a lone
    surrogate (which JSON can spell as a \\u escape) is not encodable as UTF-8."""
    if _NUL in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _first_unstorable(value: Any, where: str) -> str | None:
    """Where in a JSON value a string that cannot be stored sits, or None."""
    if isinstance(value, str):
        return None if _storable(value) else where
    if isinstance(value, dict):
        for key, item in value.items():
            found = _first_unstorable(key, where) or _first_unstorable(
                item, f"{where}.{key}"
            )
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _check_message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        raise SampleInvalid(where, "must be an object with role and content.")
    unknown = sorted(set(message) - {"role", "content", *_OPTIONAL_FIELDS})
    if unknown:
        raise SampleInvalid(f"{where}.{unknown[0]}", "is not a field of a message.")
    if message.get("role") not in ROLES:
        raise SampleInvalid(f"{where}.role", f"must be one of: {', '.join(ROLES)}.")
    if "content" not in message:
        raise SampleInvalid(f"{where}.content", "is required.")
    _check_content(message["content"], f"{where}.content")
    for name in _OPTIONAL_FIELDS:
        if name in message and not isinstance(message[name], str):
            raise SampleInvalid(f"{where}.{name}", "must be a string.")


def check_sample(sample: Any) -> None:
    """Raise SampleInvalid unless the sample is a conversation a benchmark can
    replay: 1..SAMPLE_MAX_MESSAGES messages, one of them the user's, and at most
    SAMPLE_MAX_BYTES of canonical JSON."""
    if not isinstance(sample, list) or not sample:
        raise SampleInvalid("", "must be a non-empty array of messages.")
    if len(sample) > settings.SAMPLE_MAX_MESSAGES:
        limit = settings.SAMPLE_MAX_MESSAGES
        raise SampleInvalid("", f"must have at most {limit} messages.")

    for index, message in enumerate(sample):
        _check_message(message, f"[{index}]")
    if not any(message["role"] == "user" for message in sample):
        raise SampleInvalid("", "must have at least one user message.")
    unstorable = _first_unstorable(sample, "")
    if unstorable is not None:
        raise SampleInvalid(
            unstorable, "holds a NUL character or a lone surrogate, not text."
        )

    size = len(canonical_json(sample).encode())
    if size > settings.SAMPLE_MAX_BYTES:
        limit = settings.SAMPLE_MAX_BYTES
        raise SampleInvalid("", f"is {size} bytes of JSON; at most {limit} allowed.")


# --- seeding ------------------------------------------------------------------------


def samples_add(
    account: Account, flow_name: str, conversations: list[list[Message]]
) -> SamplesAdded:
    """Store checked conversations as seeded samples of the account's flow (made if
    missing). Conversations the flow already has, or that repeat one earlier in
    the list, are skipped."""
    with transaction.atomic():
        return _samples_add(account, flow_name, conversations)


def _samples_add(
    account: Account, flow_name: str, conversations: list[list[Message]]
) -> SamplesAdded:
    flow, _ = Flow.objects.get_or_create(account=account, name=flow_name)
    unique = {sample_digest(messages): messages for messages in conversations}

    # bulk_create(ignore_conflicts=True) does not tell which rows it inserted, and
    # another request may store the same conversation meanwhile: the rows of this
    # call are the ones carrying its timestamp.
    stamp = timezone.now()
    rows = [
        Sample(
            flow=flow,
            messages=messages,
            source=Sample.Source.SEEDED,
            digest=digest,
            created_at=stamp,
        )
        for digest, messages in unique.items()
    ]
    Sample.objects.bulk_create(rows, batch_size=_INSERT_BATCH, ignore_conflicts=True)
    added = Sample.objects.filter(
        flow=flow, digest__in=list(unique), created_at=stamp
    ).count()

    return SamplesAdded(
        flow=flow.name,
        added=added,
        skipped=len(conversations) - added,
        total=flow.samples.count(),
    )


# --- capturing ----------------------------------------------------------------------


def _redacted_content(content: Any) -> Any:
    if isinstance(content, str):
        return redaction.redact(content)
    if isinstance(content, list):
        return [_redacted_part(part) for part in content]
    return content


def _redacted_part(part: Any) -> Any:
    if not isinstance(part, dict):
        return part
    part = dict(part)
    if isinstance(part.get("text"), str):
        part["text"] = redaction.redact(part["text"])
    if "content" in part:  # a tool result holds content of its own
        part["content"] = _redacted_content(part["content"])
    return part


def _redacted_message(message: Any) -> Any:
    if not isinstance(message, dict) or "content" not in message:
        return message
    return {**message, "content": _redacted_content(message["content"])}


def captured_sample(
    messages: Any, answer: str, *, redact: bool
) -> CapturedSample | None:
    """The sample to keep of a proxied call: the conversation and its answer, with
    their texts redacted when asked. None for a conversation too long or too large
    (measured before redaction), or holding a lone surrogate, to be kept; a NUL
    character is replaced by U+FFFD.
    Never changes its arguments."""
    if not isinstance(messages, list) or not messages:
        return None
    if len(messages) > settings.SAMPLE_MAX_MESSAGES:
        return None
    messages, answer = _without_nul(messages), _without_nul(answer)
    if _first_unstorable([messages, answer], "") is not None:
        return None  # a lone surrogate: not text at all
    if len(canonical_json(messages).encode()) > settings.SAMPLE_MAX_BYTES:
        return None

    if redact:
        messages = [_redacted_message(message) for message in messages]
        answer = redaction.redact(answer)
    return CapturedSample(messages, answer, sample_digest(messages))
