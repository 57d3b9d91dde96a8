"""Receivers that let suggestions follow benchmarks without benchmarks knowing."""

from typing import Any

from django.dispatch import receiver

from benchmarks.models import Benchmark
from benchmarks.signals import benchmark_finished
from suggestions import services


@receiver(benchmark_finished, dispatch_uid="suggestions.file_from_benchmark")
def file_suggestion(
    sender: Any, benchmark: Benchmark, **kwargs: Any
) -> dict[str, int] | None:
    """File the benchmark's recommendation; its id is merged into the result."""
    suggestion = services.suggestion_file(benchmark)
    return None if suggestion is None else {"suggestion_id": suggestion.pk}
