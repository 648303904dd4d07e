"""The service's settings: one frozen object read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from metricate.errors import InvalidOptionError
from metricate.parallel import THREADS_ENV

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class ServiceSettings:
    """Where the broker, the result backend and the record store live, and the limits
    that keep a run from hanging or looping."""

    broker_url: str = DEFAULT_REDIS
    result_backend: str = DEFAULT_REDIS
    redis_url: str = DEFAULT_REDIS
    key_prefix: str = "metricate"
    queue: str = "metricate"
    # A finished run is collected within days; after that Redis frees it by itself.
    record_ttl: int = 7 * 24 * 3600
    # A file that kills its worker every time (out of memory...) is recorded as an
    # error after this many deliveries instead of being redelivered forever.
    max_attempts: int = 3
    # One file takes minutes at most at the sizes the pair-based indices allow.
    soft_time_limit: int = 3600
    hard_time_limit: int = 3900
    # Above the hard limit, or Redis hands a still-running task to a second worker.
    visibility_timeout: int = 4500
    # Above the longest run, or the chord's join state expires before its last part.
    chord_expires: int = 7 * 24 * 3600
    # The library's threads per worker process: the pool's processes already use every
    # core. A lone worker process (--concurrency 1) on a multi-core machine can use more.
    threads: int = 1
    # A worker told to stop (SIGTERM remapped to SIGQUIT in docker compose) lets its
    # running files finish for this long, then hands them back to the queue.
    soft_shutdown_timeout: int = 10
    # A running file's lease, renewed every third of this: a file whose lease lapses
    # has lost its worker and is handed back to the queue.
    lease_seconds: int = 45
    # Inputs travel through Redis, compressed; above this many MB for one run the
    # producer refuses and names --shared-storage (inputs on a volume all workers mount).
    max_input_mb: int = 1024

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        broker = env.get("METRICATE_BROKER_URL") or DEFAULT_REDIS
        hard = _integer(env, "METRICATE_HARD_TIME_LIMIT", cls.hard_time_limit)
        settings = cls(
            broker_url=broker,
            result_backend=env.get("METRICATE_RESULT_BACKEND") or broker,
            redis_url=env.get("METRICATE_REDIS_URL") or broker,
            key_prefix=env.get("METRICATE_KEY_PREFIX") or cls.key_prefix,
            queue=env.get("METRICATE_QUEUE") or cls.queue,
            record_ttl=_integer(env, "METRICATE_RECORD_TTL", cls.record_ttl),
            max_attempts=_integer(env, "METRICATE_MAX_ATTEMPTS", cls.max_attempts),
            soft_time_limit=_integer(env, "METRICATE_SOFT_TIME_LIMIT", cls.soft_time_limit),
            hard_time_limit=hard,
            visibility_timeout=_integer(env, "METRICATE_VISIBILITY_TIMEOUT", hard + 600),
            chord_expires=_integer(env, "METRICATE_CHORD_EXPIRES", cls.chord_expires),
            threads=_integer(env, THREADS_ENV, cls.threads),
            lease_seconds=_integer(env, "METRICATE_LEASE_SECONDS", cls.lease_seconds),
            max_input_mb=_integer(env, "METRICATE_MAX_INPUT_MB", cls.max_input_mb),
            soft_shutdown_timeout=_integer(
                env, "METRICATE_SOFT_SHUTDOWN_TIMEOUT", cls.soft_shutdown_timeout
            ),
        )
        return settings.checked()

    def with_broker(self, url: str) -> ServiceSettings:
        """The same settings with another broker; backend and store follow it unless
        they were set on their own."""
        backend = url if self.result_backend == self.broker_url else self.result_backend
        store = url if self.redis_url == self.broker_url else self.redis_url
        return replace(self, broker_url=url, result_backend=backend, redis_url=store).checked()

    def checked(self) -> ServiceSettings:
        if self.soft_time_limit >= self.hard_time_limit:
            raise InvalidOptionError(
                f"soft time limit ({self.soft_time_limit} s) must be below the hard "
                f"limit ({self.hard_time_limit} s)"
            )
        if self.visibility_timeout <= self.hard_time_limit:
            raise InvalidOptionError(
                f"visibility timeout ({self.visibility_timeout} s) must be above the hard "
                f"time limit ({self.hard_time_limit} s)"
            )
        if min(self.max_attempts, self.record_ttl, self.threads, self.max_input_mb) < 1:
            raise InvalidOptionError(
                "max attempts, record TTL, threads and the input cap must be positive"
            )
        if self.soft_shutdown_timeout < 0:
            raise InvalidOptionError(
                f"soft shutdown timeout must be 0 or more, got {self.soft_shutdown_timeout}"
            )
        if self.lease_seconds < 3:
            raise InvalidOptionError(f"lease seconds must be at least 3, got {self.lease_seconds}")
        return self


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidOptionError(f"{name} must be an integer, got {value!r}") from None
