import uuid

from django.db import models
from django.utils import timezone

from accounts.models import Account, money_field
from flows.models import Flow, Sample


class Benchmark(models.Model):
    """One run: a flow's samples replayed on its current model and challengers."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Goal(models.TextChoices):
        BALANCED = "balanced", "Balanced"
        COST = "cost", "Cost"
        QUALITY = "quality", "Quality"
        SPEED = "speed", "Speed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="benchmarks"
    )
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="benchmarks")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    current_model = models.CharField(max_length=200)
    challengers = models.JSONField(default=list)
    optimize_for = models.CharField(
        max_length=20, choices=Goal.choices, default=Goal.BALANCED
    )
    judge_model = models.CharField(max_length=200)
    samples = models.ManyToManyField(Sample, related_name="+")
    total_steps = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every finished step: a run with no step for long is stalled.
    progressed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the one task that aggregates the result.
    aggregating = models.BooleanField(default=False)
    # How often a stalled run's steps were queued again (see benchmarks.watchdog).
    rescues = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["account", "-created_at"], name="benchmark_by_account"
            ),
            models.Index(
                fields=["status", "progressed_at"], name="benchmark_by_status"
            ),
        ]
        constraints = [
            # Two runs of one flow at once would pay twice for the same evidence.
            models.UniqueConstraint(
                fields=["flow"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_unfinished_benchmark_per_flow",
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow} benchmark {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def models(self) -> list[str]:
        return [self.current_model, *self.challengers]

    @property
    def channel(self) -> str:
        return f"benchmark-{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Step(models.Model):
    """One task's work on one sample of a run (`benchmark`, in each subclass):
    claimed in its row, then done or failed."""

    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    cost_usd = money_field(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Answer(Step):
    """One model's answer to one sample (one task)."""

    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.CASCADE, related_name="answers"
    )
    model = models.CharField(max_length=200)
    text = models.TextField(blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    call_id = models.UUIDField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "sample", "model"], name="answer_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} on sample {self.sample_id}"


class Judgment(Step):
    """The judge's verdict on one challenger answer against the baseline answer.

    Asked twice with the answers' positions swapped; `verdict` is the challenger's
    outcome: a win or a loss only when both orders agree.
    """

    class Verdict(models.TextChoices):
        WIN = "win", "Win"
        TIE = "tie", "Tie"
        LOSS = "loss", "Loss"
        ERROR = "error", "Judge error"

    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.CASCADE, related_name="judgments"
    )
    challenger = models.CharField(max_length=200)
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True)
    # What the judge said in each order: "A", "B", "tie" or "error".
    first_order = models.CharField(max_length=10, blank=True, default="")
    second_order = models.CharField(max_length=10, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    call_ids = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "sample", "challenger"], name="judgment_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.challenger} on sample {self.sample_id}: {self.verdict}"
