"""Celery app and tasks: thin, idempotent shells around callqa.pipeline.

With CALLQA_BROKER_URL unset there is no broker: the CLI and API run the pipeline in-process and
nothing here is used. With it set, `callqa process` enqueues chains and `callqa worker` consumes.
Tasks take call ids only; audio is read from the shared data directory.
"""

from __future__ import annotations

import logging

from celery import Celery, chain
from sqlalchemy.exc import OperationalError

from callqa import pipeline
from callqa.settings import get_settings

logger = logging.getLogger(__name__)

QUEUE_ASR = "asr"
QUEUE_SCORE = "score"


def make_app() -> Celery:
    settings = get_settings()
    app = Celery("callqa", broker=settings.broker_url or "memory://", backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE_SCORE,
        task_routes={
            "callqa.transcribe": {"queue": QUEUE_ASR},
            "callqa.score": {"queue": QUEUE_SCORE},
            "callqa.notify": {"queue": QUEUE_SCORE},
        },
        broker_connection_retry_on_startup=True,
        task_always_eager=settings.broker_url is None,
    )
    return app


app = make_app()

_RETRYABLE = (OperationalError, ConnectionError, TimeoutError)


def _run_step(task, step, call_id: int, *, countdown_s: float) -> None:  # type: ignore[no-untyped-def]
    """Run a pipeline step inside a task: input faults fail the call at once (no retry), transient
    infrastructure errors are retried by Celery, anything else is retried with backoff and, on the
    last try, stored on the call as its failure reason."""
    settings = get_settings()
    try:
        step(settings, call_id)
    except pipeline.StepError as exc:
        pipeline.fail_call(settings, call_id, str(exc))
        raise  # stops the chain; the reason is on the call row
    except _RETRYABLE:
        raise
    except Exception as exc:
        if task.request.retries >= (task.max_retries or 0):
            pipeline.fail_call(settings, call_id, f"{type(exc).__name__}: {exc}")
        raise task.retry(exc=exc, countdown=countdown_s * 2**task.request.retries) from exc


_STEP_TASK = dict(bind=True, acks_late=True, autoretry_for=_RETRYABLE, retry_backoff=True,
                  retry_backoff_max=600, max_retries=5)


@app.task(name="callqa.transcribe", **_STEP_TASK)
def transcribe_task(self, call_id: int) -> int:  # type: ignore[no-untyped-def]
    _run_step(self, pipeline.transcribe_step, call_id, countdown_s=30)
    logger.info("call %s transcribed", call_id)
    return call_id


@app.task(name="callqa.score", **_STEP_TASK)
def score_task(self, call_id: int) -> int:  # type: ignore[no-untyped-def]
    _run_step(self, pipeline.score_step, call_id, countdown_s=10)
    return call_id


@app.task(name="callqa.notify", acks_late=True, autoretry_for=_RETRYABLE, retry_backoff=True, max_retries=5)
def notify_task(call_id: int) -> int:
    settings = get_settings()
    pipeline.notify_step(settings, call_id)
    return call_id


@app.task(name="callqa.webhooks_retry")
def webhooks_retry_task() -> int:
    from callqa import webhooks

    return webhooks.retry_due(get_settings())


def enqueue_call(call_id: int) -> str:
    """Enqueue transcribe -> score -> notify for a call (after its row is committed)."""
    result = chain(transcribe_task.si(call_id), score_task.si(call_id), notify_task.si(call_id)).apply_async()
    return str(result.id)
