"""The Celery app that producer and workers share, configured from ``ServiceSettings``.

Tasks are registered by ``worker.tasks``, which makes the workers' app (and is what
``celery -A`` names for workers and Flower); the producer makes its own and sends the
tasks by name, so it never imports the worker's code.
"""

from __future__ import annotations

from celery import Celery

from shared.settings import ServiceSettings


def make_app(settings: ServiceSettings | None = None) -> Celery:
    settings = settings or ServiceSettings.from_environment()
    app = Celery("metricate", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        # Messages carry only small JSON values (paths, ids, options); pickle would
        # let anyone who can write to the broker run code on the workers.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        # A task is acknowledged when it ends, not when it starts, and a worker
        # process killed mid-task (OOM, SIGKILL) puts its message back on the queue:
        # its file is redelivered instead of silently lost.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One file is seconds to minutes of work: a worker holding several messages
        # would starve idle workers and lose more on a crash.
        worker_prefetch_multiplier=1,
        # A file that hangs must not hold a worker forever.
        task_soft_time_limit=settings.soft_time_limit,
        task_time_limit=settings.hard_time_limit,
        # Redis redelivers an unacknowledged message after this long; below the hard
        # time limit a slow but healthy task would run twice at once.
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        # The chord's join state must outlive the longest run, or the callback never fires.
        result_chord_expires=settings.chord_expires,
        # Task results (tiny summaries) live as long as the run's records.
        result_expires=settings.record_ttl,
        # Events let Flower show workers and tasks; the sent event lists queued tasks.
        worker_send_task_events=True,
        task_send_sent_event=True,
        # Flower and `metricate status` can tell a running file from a queued one.
        task_track_started=True,
        # One queue of our own, so other apps on the same Redis are not disturbed.
        task_default_queue=settings.queue,
        # Stopped (cold shutdown), a worker first lets its running files finish for a
        # while, then cancels them; Redis's transport restores unacknowledged messages
        # when the worker closes its channel, so the files go back to the queue.
        worker_soft_shutdown_timeout=settings.soft_shutdown_timeout,
        # Workers start before Redis is ready in docker-compose; keep trying.
        broker_connection_retry_on_startup=True,
    )
    app.conf.metricate_settings = settings
    return app
