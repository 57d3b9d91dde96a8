"""Signals benchmarks send, so that apps above them can act without being imported."""

from django.dispatch import Signal

# Sent once a benchmark has its result, before the `result` event goes out, with
# `benchmark` (a finished Benchmark whose `result` is set). A receiver may return
# a dict that is merged into the result (the suggestions app returns the id of the
# suggestion it filed).
benchmark_finished = Signal()
