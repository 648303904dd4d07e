"""The run's records in Redis, written so that a redelivered task overwrites.

Every key is ``<prefix>:run:<run_id>:<name>``; all of them expire ``ttl`` seconds after
the run's last write, together:

- ``parameters``  JSON: options, output, started_at
- ``expected``    JSON list of the run's input files (absolute paths)
- ``status``      hash: status (queued, done, failed, interrupted), submission, ...
- ``done``        set of the files whose outcome is stored
- ``files``       hash file -> JSON outcome summary (status, hash, timing, version ids)
- ``records``     hash record id -> JSON record; the id is ``<file key>:<variant>``
- ``warnings``, ``errors``  hash file -> JSON list
- ``attempts``    hash file -> deliveries so far
- ``tasks``       hash file -> Celery task id (to revoke or hand back queued work)
- ``inputs``      hash content key -> a loaded input file, compressed (see
  ``metricate.io.stored``); workers read their file from here
- ``result``      the finished table as Parquet bytes, for the producer to write
- ``finalizing``  a short lock so that two callbacks never write at once
- ``lease:<file key>``  who is processing a file; the running task renews it, so a
  lapsed lease means its worker died

and, outside the run, ``<prefix>:output:<key>``: the run that is writing an output,
so that a second live run to the same place is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import redis

from metricate.training import FileOutcome
from shared.settings import ServiceSettings

RUN_KEYS = (
    "parameters",
    "expected",
    "status",
    "done",
    "files",
    "records",
    "warnings",
    "errors",
    "attempts",
    "tasks",
    "inputs",
    "result",
    "finalizing",
)
DATA_KEYS = tuple(name for name in RUN_KEYS if name != "finalizing")


def record_id(file: str, sha256: str | None, record: Mapping[str, Any]) -> str:
    """Deterministic id of one version of one file: the same file and variant always
    give the same id, so writing it again overwrites. The path is part of the file
    key, so two inputs with the same content do not collide."""
    file_key = hashlib.sha256(f"{file}\0{sha256 or ''}".encode()).hexdigest()[:16]
    kind = record.get("degradation_type")
    variant = "original" if kind is None else f"{kind}@{record.get('degradation_level')}"
    return f"{file_key}:{variant}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RecordStore:
    """Namespaced, expiring storage of a run's parameters, outcomes and status."""

    def __init__(self, client: redis.Redis, prefix: str = "metricate", ttl: int = 7 * 24 * 3600):
        self.client = client
        # The same server for binary values (inputs, the result): no decoding.
        kwargs = {**client.connection_pool.connection_kwargs, "decode_responses": False}
        self.binary = redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))
        self.prefix = prefix
        self.ttl = ttl

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RecordStore:
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        return cls(client, prefix=settings.key_prefix, ttl=settings.record_ttl)

    def key(self, run_id: str, name: str) -> str:
        return f"{self.prefix}:run:{run_id}:{name}"

    # ---- the run -------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        files: Iterable[str],
        parameters: Mapping[str, Any],
        submission: str,
    ) -> None:
        """Store what a run is (files, options, output) and queue it."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.key(run_id, "parameters"), json.dumps(dict(parameters)))
        pipe.set(self.key(run_id, "expected"), json.dumps(sorted(files)))
        pipe.delete(self.key(run_id, "status"))
        pipe.hset(
            self.key(run_id, "status"),
            mapping={"status": "queued", "submission": submission, "updated_at": now()},
        )
        self._refresh_ttl(pipe, run_id)
        pipe.execute()

    def resubmit(self, run_id: str, submission: str) -> None:
        """A resumed run: queued again under a new submission, earlier results kept."""
        self.set_status(run_id, "queued", submission=submission, error="", summary="")

    def parameters(self, run_id: str) -> dict[str, Any] | None:
        text = self.client.get(self.key(run_id, "parameters"))
        return None if text is None else json.loads(text)

    def expected(self, run_id: str) -> list[str]:
        text = self.client.get(self.key(run_id, "expected"))
        return [] if text is None else json.loads(text)

    def done(self, run_id: str) -> set[str]:
        return cast(set[str], self.client.smembers(self.key(run_id, "done")))

    def is_done(self, run_id: str, file: str) -> bool:
        return bool(self.client.sismember(self.key(run_id, "done"), file))

    def missing(self, run_id: str) -> list[str]:
        done = self.done(run_id)
        return [f for f in self.expected(run_id) if f not in done]

    def status(self, run_id: str) -> dict[str, str]:
        return cast(dict[str, str], self.client.hgetall(self.key(run_id, "status")))

    def set_status(self, run_id: str, status: str, **fields: Any) -> None:
        pipe = self.client.pipeline(transaction=True)
        values: dict[Any, Any] = {
            "status": status,
            "updated_at": now(),
            **{k: str(v) for k, v in fields.items()},
        }
        pipe.hset(self.key(run_id, "status"), mapping=values)
        self._refresh_ttl(pipe, run_id)
        pipe.execute()

    def remember_tasks(self, run_id: str, task_ids: Mapping[str, str]) -> None:
        if not task_ids:
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.key(run_id, "tasks"), mapping=cast(dict[Any, Any], dict(task_ids)))
        self._refresh_ttl(pipe, run_id)
        pipe.execute()

    def task_ids(self, run_id: str) -> dict[str, str]:
        return cast(dict[str, str], self.client.hgetall(self.key(run_id, "tasks")))

    # ---- one file --------------------------------------------------------------------

    def begin_attempt(self, run_id: str, file: str) -> int:
        """Count one more delivery of ``file``; the count survives a killed worker."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hincrby(self.key(run_id, "attempts"), file, 1)
        self._refresh_ttl(pipe, run_id)
        return int(pipe.execute()[0])

    def attempts(self, run_id: str) -> dict[str, int]:
        counts = cast(dict[str, str], self.client.hgetall(self.key(run_id, "attempts")))
        return {k: int(v) for k, v in counts.items()}

    def save_outcome(self, run_id: str, outcome: FileOutcome) -> None:
        """One file's records, warnings, errors and done-set entry in one MULTI/EXEC:
        all of them or none, and a second write of the same file overwrites."""
        data = outcome.to_dict()
        records = {
            record_id(outcome.file, outcome.sha256, r): json.dumps(r, allow_nan=False)
            for r in data.pop("records")
        }
        summary = {
            **{k: v for k, v in data.items() if k not in ("warnings", "errors")},
            "record_ids": list(records),
        }
        pipe = self.client.pipeline(transaction=True)
        if records:
            pipe.hset(self.key(run_id, "records"), mapping=cast(dict[Any, Any], records))
        pipe.hset(self.key(run_id, "files"), outcome.file, json.dumps(summary))
        pipe.hset(self.key(run_id, "warnings"), outcome.file, json.dumps(outcome.warnings))
        pipe.hset(self.key(run_id, "errors"), outcome.file, json.dumps(outcome.errors))
        pipe.sadd(self.key(run_id, "done"), outcome.file)
        self._refresh_ttl(pipe, run_id)
        pipe.execute()

    def file_summary(self, run_id: str, file: str) -> dict[str, Any] | None:
        text = self.client.hget(self.key(run_id, "files"), file)
        return None if text is None else json.loads(text)

    def file_summaries(self, run_id: str, files: Iterable[str]) -> dict[str, dict[str, Any]]:
        files = list(files)
        if not files:
            return {}
        texts = self.client.hmget(self.key(run_id, "files"), files)
        return {f: json.loads(t) for f, t in zip(files, texts, strict=True) if t is not None}

    def outcomes(self, run_id: str) -> list[FileOutcome]:
        """The stored outcome of every done file, records in their original order."""
        done = sorted(self.done(run_id))
        summaries = self.file_summaries(run_id, done)
        warnings = self._json_fields(run_id, "warnings", done)
        errors = self._json_fields(run_id, "errors", done)
        outcomes = []
        for file in done:
            summary = dict(summaries[file])
            ids = summary.pop("record_ids")
            texts = cast(
                list[str | None], self.client.hmget(self.key(run_id, "records"), ids) if ids else []
            )
            if any(t is None for t in texts):
                raise RuntimeError(f"run {run_id}: records of {file} are incomplete in Redis")
            outcomes.append(
                FileOutcome.from_dict(
                    {
                        **summary,
                        "records": [json.loads(t) for t in texts if t is not None],
                        "warnings": warnings.get(file, []),
                        "errors": errors.get(file, []),
                    }
                )
            )
        return outcomes

    # ---- inputs and the result -------------------------------------------------------

    def store_input(self, run_id: str, key: str, blob: bytes) -> None:
        pipe = self.binary.pipeline(transaction=True)
        pipe.hset(self.key(run_id, "inputs"), key, blob)
        self._refresh_ttl(pipe, run_id)
        pipe.execute()

    def input(self, run_id: str, key: str) -> bytes | None:
        return cast(bytes | None, self.binary.hget(self.key(run_id, "inputs"), key))

    def drop_inputs(self, run_id: str) -> None:
        self.client.delete(self.key(run_id, "inputs"))

    def save_result(self, run_id: str, table: bytes) -> None:
        pipe = self.binary.pipeline(transaction=True)
        pipe.set(self.key(run_id, "result"), table)
        self._refresh_ttl(pipe, run_id)
        pipe.execute()

    def result(self, run_id: str) -> bytes | None:
        return cast(bytes | None, self.binary.get(self.key(run_id, "result")))

    # ---- leases: who is processing a file --------------------------------------------

    def lease_key(self, run_id: str, file: str) -> str:
        return self.key(run_id, f"lease:{hashlib.sha256(file.encode()).hexdigest()[:16]}")

    def renew_lease(self, run_id: str, file: str, holder: str, seconds: int) -> None:
        self.client.set(self.lease_key(run_id, file), holder, ex=max(1, seconds))

    def release_lease(self, run_id: str, file: str) -> None:
        self.client.delete(self.lease_key(run_id, file))

    def leased(self, run_id: str, files: Iterable[str]) -> set[str]:
        """The files whose lease is held now."""
        files = list(files)
        pipe = self.client.pipeline(transaction=False)
        for file in files:
            pipe.exists(self.lease_key(run_id, file))
        return {f for f, held in zip(files, pipe.execute(), strict=True) if held}

    # ---- the output a live run writes ------------------------------------------------

    def output_key(self, output_id: str) -> str:
        return f"{self.prefix}:output:{hashlib.sha256(output_id.encode()).hexdigest()[:24]}"

    def claim_output(self, output_id: str, run_id: str) -> str | None:
        """Claim ``output_id`` for ``run_id``; the run holding it if another live run does."""
        key = self.output_key(output_id)
        for _ in range(3):
            if self.client.set(key, run_id, nx=True, ex=self.ttl):
                return None
            holder = cast(str | None, self.client.get(key))
            if holder is None or holder == run_id:
                self.client.set(key, run_id, ex=self.ttl)
                return None
            if self.status(holder).get("status") in (None, "done", "failed", "interrupted"):
                self.client.delete(key)  # the holder has ended: the claim is stale
                continue
            return holder
        return None

    def release_output(self, output_id: str, run_id: str) -> None:
        key = self.output_key(output_id)
        if self.client.get(key) == run_id:
            self.client.delete(key)

    # ---- finishing -------------------------------------------------------------------

    def acquire_finalize_lock(self, run_id: str, token: str, seconds: int) -> bool:
        key = self.key(run_id, "finalizing")
        return bool(self.client.set(key, token, nx=True, ex=max(1, seconds)))

    def release_finalize_lock(self, run_id: str, token: str) -> None:
        key = self.key(run_id, "finalizing")
        if self.client.get(key) == token:
            self.client.delete(key)

    def keys(self, run_id: str) -> list[str]:
        """The run's keys that exist now."""
        names = [self.key(run_id, name) for name in RUN_KEYS]
        return [k for k, exists in zip(names, self._exists(names), strict=True) if exists]

    def delete_run(self, run_id: str) -> None:
        leases = list(self.client.scan_iter(match=self.key(run_id, "lease:*"), count=1000))
        self.client.delete(*[self.key(run_id, name) for name in RUN_KEYS], *leases)

    # ---- internals -------------------------------------------------------------------

    def _refresh_ttl(self, pipe: Any, run_id: str) -> None:
        """Every write gives all of the run's keys a full TTL again, so they expire
        together: never the parameters before the records. The finalize lock keeps
        its own short expiry."""
        for name in DATA_KEYS:
            pipe.expire(self.key(run_id, name), self.ttl)

    def _exists(self, keys: list[str]) -> list[bool]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return [bool(n) for n in pipe.execute()]

    def _json_fields(self, run_id: str, name: str, files: list[str]) -> dict[str, Any]:
        if not files:
            return {}
        texts = self.client.hmget(self.key(run_id, name), files)
        return {f: json.loads(t) for f, t in zip(files, texts, strict=True) if t is not None}
