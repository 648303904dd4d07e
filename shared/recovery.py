"""Files whose worker died: found by their lapsed lease, handed back to the queue.

A running ``process_file`` task renews its file's lease in the record store. A file
that was started, is not done and has no lease has lost its worker (killed outright,
its machine gone). Its message is still in kombu's Redis ``unacked`` hash, where
Redis would leave it until the visibility timeout (over an hour); handing it back
puts that same message (same task id, same chord) at the head of the queue now.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from celery import Celery

from shared.record_store import RecordStore


def stranded_files(store: RecordStore, run_id: str) -> list[str]:
    """Started, not done, and nobody holds the lease."""
    started = set(store.attempts(run_id))
    waiting = sorted(started - store.done(run_id))
    held = store.leased(run_id, waiting)
    return [file for file in waiting if file not in held]


def hand_back(app: Celery, task_ids: Iterable[str]) -> set[str]:
    """Restore the unacknowledged messages of ``task_ids`` to their queues; the ids
    handed back (a task whose message is not unacknowledged is queued already, or
    was acknowledged)."""
    wanted = set(task_ids)
    if not wanted:
        return set()
    restored: set[str] = set()
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        client = channel.client
        for tag, entry in client.hgetall(channel.unacked_key).items():
            message = json.loads(entry)[0]
            task_id = message.get("headers", {}).get("id")
            if task_id in wanted:
                # rpush: the end BRPOP takes from, so the file is next in line.
                channel.qos.restore_by_tag(tag, client=client)
                restored.add(task_id)
    return restored


def recover(app: Celery, store: RecordStore, run_id: str) -> list[str]:
    """Hand back the messages of the run's stranded files; the files handed back."""
    files = stranded_files(store, run_id)
    if not files:
        return []
    tasks = store.task_ids(run_id)
    restored = hand_back(app, [tasks[f] for f in files if f in tasks])
    return [f for f in files if tasks.get(f) in restored]
