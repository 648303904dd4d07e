"""The distributed service against the real Redis and real `celery worker` processes.

Each test uses its own queue and key prefix on a dedicated Redis database, and
deletes what it wrote. Workers and Flower are subprocesses, stopped in `finally`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import redis
from click.testing import CliRunner
from service_fixtures import (
    ROOT,
    clean_keys,
    own_redis_server,
    redis_or_skip,
    running,
    running_worker,
    service_env,
    unique,
    wait_for,
    write_blobs,
    write_huge,
)

from metricate.options import GenerationOptions
from metricate.training import process_file, run_local
from producer import distributed
from producer.cli import cli
from shared.record_store import RecordStore

TYPES = "label_swap_random,merge_nearest"
LEVELS = "5pct,50pct"
OPTIONS = GenerationOptions.parse(types=TYPES, levels=LEVELS)
PER_FILE = OPTIONS.versions_per_file  # 5 versions per file


@pytest.fixture(scope="module")
def redis_client():
    client = redis_or_skip()
    yield client
    client.close()


@pytest.fixture
def service(redis_client):
    """A fresh queue and key prefix; everything under them is deleted afterwards."""
    queue, prefix = unique("q"), unique("p")
    env = service_env(queue, prefix)
    store = RecordStore(redis_client, prefix=prefix, ttl=600)
    try:
        yield env, store
    finally:
        clean_keys(redis_client, prefix, queue)


@pytest.fixture(scope="module")
def shared_service(redis_client):
    """One queue with a 2-process worker for the tests that only need a working service."""
    queue, prefix = unique("q"), unique("p")
    env = service_env(queue, prefix)
    try:
        with running_worker(env, concurrency=2, name="shared") as worker:
            yield env, RecordStore(redis_client, prefix=prefix, ttl=600), worker
    finally:
        clean_keys(redis_client, prefix, queue)


def generate(env, *args, types=TYPES, levels=LEVELS):
    runner = CliRunner()
    argv = ["generate", *map(str, args), "--types", types, "--levels", levels]
    return runner.invoke(cli, argv, env=env, catch_exceptions=False)


def collect_to(env, run_id, out):
    """`metricate collect`: a --no-wait run's table written here, from Redis."""
    done = CliRunner().invoke(cli, ["collect", run_id, "-o", str(out)], env=env)
    assert done.exit_code in (0, 1), done.output
    return done


def local_table(paths, tmp_path):
    out = tmp_path / "local.parquet"
    run_local(sorted(paths), OPTIONS, jobs=1).write(out)
    return pd.read_parquet(out)


def good_files(folder: Path, count: int, n: int = 80):
    folder.mkdir(parents=True, exist_ok=True)
    return [write_blobs(folder / f"set{i}_clustering.csv", seed=i, n=n) for i in range(count)]


def run_id_from(output: str) -> str:
    return output.strip().splitlines()[0]


# ---- behaviour ------------------------------------------------------------------------


def test_store_writes_a_file_once_however_often_it_is_saved(service, tmp_path):
    _, store = service
    outcome = process_file(write_blobs(tmp_path / "a.csv"), OPTIONS)
    for _ in range(2):
        store.save_outcome("r1", outcome)
    assert store.client.hlen(store.key("r1", "records")) == PER_FILE
    assert store.done("r1") == {outcome.file}
    (again,) = store.outcomes("r1")
    assert again.to_dict() == outcome.to_dict()
    assert all(0 < store.client.ttl(k) <= 600 for k in store.keys("r1"))


def test_distributed_run_equals_local_run(shared_service, tmp_path):
    env, store, _ = shared_service
    paths = good_files(tmp_path / "in", 4)
    out = tmp_path / "dist.parquet"
    run = generate(
        {**env, "METRICATE_BROKER_URL": None},
        tmp_path / "in",
        "-o",
        out,
        "--broker",
        env["METRICATE_BROKER_URL"],
    )
    assert run.exit_code == 0, run.output
    assert "[4/4] " in run.stderr and f"ok, {PER_FILE} rows" in run.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_table(paths, tmp_path))
    audit = json.loads((tmp_path / "dist.parquet.run.json").read_text())
    assert audit["metadata"]["mode"] == "distributed" and audit["errors"] == []
    run_id = audit["metadata"]["run_id"]
    assert store.status(run_id)["status"] == "done"
    ttls = [store.client.ttl(k) for k in store.keys(run_id)]
    assert ttls and all(0 < t <= 600 for t in ttls)


def test_bad_file_among_good_ones(shared_service, tmp_path):
    env, _, _ = shared_service
    paths = good_files(tmp_path / "in", 3)
    (tmp_path / "in" / "broken.csv").write_text("cluster_id,dim_0\n")
    out = tmp_path / "out.parquet"
    run = generate(env, tmp_path / "in", "-o", out)
    assert run.exit_code == 1, run.output
    audit = json.loads((tmp_path / "out.parquet.run.json").read_text())
    (error,) = audit["errors"]
    assert "broken.csv" in error
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_table(paths, tmp_path))


def test_a_file_that_keeps_killing_workers_becomes_an_error(shared_service, tmp_path):
    env, store, _ = shared_service
    good_files(tmp_path / "in", 2)
    run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet", "--no-wait")
    assert run.exit_code == 0, run.output
    run_id = run_id_from(run.stdout)
    wait_for(lambda: store.status(run_id).get("status") == "done")
    # The same run again, as if each file had already been delivered 3 times.
    doomed = str((tmp_path / "in" / "set0_clustering.csv").resolve())
    rerun = "again-" + run_id
    store.create_run(rerun, [doomed], {**store.parameters(run_id)}, "s1")
    store.client.hset(store.key(rerun, "attempts"), doomed, 3)
    from shared.celery_app import make_app
    from shared.messages import submit_run
    from shared.settings import ServiceSettings

    settings = ServiceSettings.from_environment({k: v for k, v in env.items() if v})
    submit_run(make_app(settings), rerun, [doomed], OPTIONS.to_dict(), "s1")
    wait_for(lambda: store.status(rerun).get("status") == "done")
    (outcome,) = store.outcomes(rerun)
    assert outcome.status == "error" and "gave up after 3 attempts" in outcome.errors[0]
    store.delete_run(rerun)


def test_worker_killed_mid_task_file_redelivered_every_record_once(service, tmp_path):
    env, store = service
    paths = good_files(tmp_path / "in", 2) + [write_blobs(tmp_path / "in" / "big.csv", n=1500)]
    big = str(paths[-1].resolve())
    out = tmp_path / "out.parquet"
    run = generate(
        env,
        tmp_path / "in",
        "-o",
        out,
        "--no-wait",
        types=TYPES + ",split_random,core_removal,noise_injection",
        levels="5pct,10pct,25pct,50pct",
    )
    assert run.exit_code == 0, run.output
    run_id = run_id_from(run.stdout)
    with running_worker(env, concurrency=1, name="victim") as worker:
        # The big file is being evaluated: its first delivery started, it is not done.
        wait_for(lambda: store.attempts(run_id).get(big) == 1, timeout=60, interval=0.02)
        assert not store.is_done(run_id, big)
        (child,) = worker.pool_pids()
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: store.status(run_id).get("status") == "done", timeout=90)
        assert "Worker exited prematurely: signal 9" in worker.log.read_text()
    assert store.attempts(run_id)[big] == 2
    collect_to(env, run_id, out)
    table = pd.read_parquet(out)
    options = GenerationOptions.parse(
        types=(*TYPES.split(","), "split_random", "core_removal", "noise_injection"),
        levels=("5pct", "10pct", "25pct", "50pct"),
    )
    key = ["clustering_name", "degradation_type", "degradation_level"]
    assert not table.duplicated(key).any()
    local = run_local(sorted(paths), options, jobs=1)
    local.write(tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "local.parquet"))


def test_same_header_task_delivered_twice_no_duplicates_output_written_once(service, tmp_path):
    env, store = service
    paths = good_files(tmp_path / "in", 3)
    out = tmp_path / "out.parquet"
    run = generate(env, tmp_path / "in", "-o", out, "--no-wait")
    assert run.exit_code == 0, run.output
    run_id = run_id_from(run.stdout)
    # No worker yet: copy one queued message, as a broker redelivering it would.
    queue = env["METRICATE_QUEUE"]
    messages = store.client.lrange(queue, 0, -1)
    assert len(messages) == 3
    store.client.lpush(queue, messages[0])
    with running_worker(env, concurrency=2, name="dup"):
        wait_for(lambda: store.status(run_id).get("status") == "done")
        wait_for(lambda: store.client.llen(queue) == 0)
        first = store.result(run_id)
        # The chord body delivered again: it does not write a second time.
        from shared.celery_app import make_app
        from shared.messages import FINALIZE_RUN
        from shared.settings import ServiceSettings

        app = make_app(ServiceSettings.from_environment(env))
        submission = store.status(run_id)["submission"]
        again = app.send_task(FINALIZE_RUN, args=(run_id, submission)).get(timeout=30)
        assert again == {"run_id": run_id, "status": "done", "written": False}
    assert store.result(run_id) == first
    collect_to(env, run_id, out)
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_table(paths, tmp_path))


def test_interrupted_run_resumed_with_run_id_reprocesses_only_missing_files(service, tmp_path):
    env, store = service
    paths = good_files(tmp_path / "in", 5, n=900)
    out = tmp_path / "out.parquet"
    run = generate(env, tmp_path / "in", "-o", out, "--no-wait", "--run-id", "resumable")
    assert run.exit_code == 0, run.output
    with running_worker(env, concurrency=1, name="first"):
        wait_for(lambda: len(store.done("resumable")) >= 2, interval=0.02)
    # Workers stopped, and the queued messages lost with them.
    store.client.delete(env["METRICATE_QUEUE"])
    done_before = store.done("resumable")
    assert 2 <= len(done_before) < 5
    with running_worker(env, concurrency=2, name="second"):
        resumed = generate(env, tmp_path / "in", "-o", out, "--run-id", "resumable")
    assert resumed.exit_code == 0, resumed.output
    assert f"{len(done_before)} of 5 files already done, {5 - len(done_before)} queued" in (
        resumed.stderr
    )
    assert set(store.attempts("resumable").values()) == {1}
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_table(paths, tmp_path))


def test_status_and_collect_for_a_run_submitted_without_waiting(shared_service, tmp_path):
    env, store, _ = shared_service
    paths = good_files(tmp_path / "in", 2)
    run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet", "--no-wait")
    run_id = run_id_from(run.stdout)
    wait_for(lambda: store.status(run_id).get("status") == "done")
    runner = CliRunner()
    status = runner.invoke(cli, ["status", run_id], env=env)
    assert status.exit_code == 0 and f"run {run_id}: done" in status.stdout
    assert "files: 2 of 2 done" in status.stdout
    collected = tmp_path / "collected.parquet"
    done = runner.invoke(cli, ["collect", run_id, "-o", str(collected)], env=env)
    assert done.exit_code == 0, done.output
    pd.testing.assert_frame_equal(pd.read_parquet(collected), local_table(paths, tmp_path))
    missing = runner.invoke(cli, ["status", "no-such-run"], env=env)
    assert missing.exit_code == 2 and missing.stderr.startswith("Error: run no-such-run not found")


def test_unreachable_broker_is_a_one_line_error(tmp_path):
    good_files(tmp_path / "in", 1)
    run = generate(
        {}, tmp_path / "in", "-o", tmp_path / "o.parquet", "--broker", "redis://127.0.0.1:1/0"
    )
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: cannot reach Redis at redis://127.0.0.1:1/0")
    assert len(run.stderr.strip().splitlines()) == 1


def test_inputs_are_checked_before_anything_is_sent(tmp_path):
    good_files(tmp_path / "in", 1)
    # The broker is never reached: the non-regular input is refused first.
    run = generate(
        {},
        tmp_path / "in",
        "/dev/null",
        "-o",
        tmp_path / "o.parquet",
        "--broker",
        "redis://127.0.0.1:1/0",
    )
    assert run.exit_code == 2
    assert run.stderr.strip() == "Error: /dev/null: not a regular file"


def test_flower_lists_the_worker_and_the_runs_tasks(shared_service, tmp_path):
    env, store, worker = shared_service
    port = free_port()
    flower_env = {**os.environ, **{k: v for k, v in env.items() if v}}
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.tasks",
        "flower",
        f"--port={port}",
        "--address=127.0.0.1",
        "--basic-auth=test:secret",
    ]
    log = (tmp_path / "flower.log").open("w")
    flower = subprocess.Popen(
        argv, cwd=ROOT, env=flower_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_for(lambda: flower_get(port, "/api/workers?refresh=1"), timeout=30, interval=0.3)
        good_files(tmp_path / "in", 2)
        run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet")
        assert run.exit_code == 0, run.output
        run_id = json.loads((tmp_path / "out.parquet.run.json").read_text())["metadata"]["run_id"]
        task_ids = set(store.task_ids(run_id).values())
        workers = flower_get(port, "/api/workers?refresh=1")
        assert worker.name in workers
        tasks = wait_for(
            lambda: (t := flower_get(port, "/api/tasks")) and task_ids <= set(t) and t,
            timeout=20,
            interval=0.3,
        )
        assert {tasks[i]["name"] for i in task_ids} == {"metricate.process_file"}
        assert {tasks[i]["state"] for i in task_ids} == {"SUCCESS"}
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        try:
            flower.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(flower.pid, signal.SIGKILL)
            flower.wait(5)
        log.close()


def test_missing_redis_fails_the_suite_under_ci(tmp_path):
    env = {**os.environ, "CI": "true", "METRICATE_TEST_REDIS_URL": "redis://127.0.0.1:1/15"}
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "status_and_collect",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert check.returncode == 1, check.stdout
    assert "Redis not reachable" in check.stdout and "1 error" in check.stdout


# ---- helpers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flower_get(port: int, path: str):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"test:secret").decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except OSError:
        return None


def test_ctrl_c_revokes_the_run_and_says_how_to_resume(service, tmp_path):
    env, store = service
    paths = good_files(tmp_path / "in", 2)
    out = tmp_path / "out.parquet"
    argv = ["metricate", "generate", str(tmp_path / "in"), "-o", str(out)]
    argv += ["--types", TYPES, "--levels", LEVELS]
    # No worker: the run stays queued until the producer is interrupted.
    producer = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        run_id = wait_for(lambda: [k for k in store.client.keys(f"{store.prefix}:run:*:tasks")])
        run_id = run_id[0].split(":")[-2]
        producer.send_signal(signal.SIGINT)
        stdout, stderr = producer.communicate(timeout=30)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
    assert producer.returncode == 130, stderr
    assert "interrupted: queued tasks revoked. Resume with: " in stderr
    assert f"--run-id {run_id}" in stderr and "Traceback" not in stderr
    assert store.status(run_id)["status"] == "interrupted"
    with running_worker(env, concurrency=2, name="after-ctrl-c"):
        resumed = generate(env, tmp_path / "in", "-o", out, "--run-id", run_id)
    assert resumed.exit_code == 0, resumed.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_table(paths, tmp_path))


def test_a_failing_callback_marks_the_run_failed_and_names_the_cause(service, tmp_path):
    env, store = service
    good_files(tmp_path / "in", 2)
    target = tmp_path / "shared"
    target.mkdir()
    args = ["-o", target / "out.parquet", "--shared-storage", "--no-wait"]
    run = generate(env, tmp_path / "in", *args)
    assert run.exit_code == 0, run.output
    run_id = run_id_from(run.stdout)
    # After the check at submission, the output's folder becomes a file: the workers'
    # callback cannot write there.
    target.rmdir()
    target.write_text("")
    with running_worker(env, concurrency=2, name="blocked"):
        wait_for(lambda: store.status(run_id).get("status") == "failed")
    error = store.status(run_id)["error"]
    assert error.startswith(f"run {run_id} failed: ") and "shared" in error
    assert len(store.done(run_id)) == 2
    status = CliRunner().invoke(cli, ["status", run_id], env=env)
    assert status.exit_code == 1 and f"error: run {run_id} failed: " in status.stdout


def test_an_output_that_cannot_be_written_is_refused_before_anything_is_sent(service, tmp_path):
    env, store = service
    good_files(tmp_path / "in", 2)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for output, message in [
        (blocker / "out.parquet", f"{blocker / 'out.parquet'}: cannot write in {blocker}"),
        (tmp_path, f"{tmp_path}: is a folder; name a file ending in .parquet or .csv"),
        (tmp_path / "out.txt", f"{tmp_path / 'out.txt'}: output must end in .parquet or .csv"),
    ]:
        run = generate(env, tmp_path / "in", "-o", output, "--run-id", "never")
        assert run.exit_code == 2
        assert run.stderr.strip() == f"Error: {message}"
    assert store.keys("never") == [] and store.client.llen(env["METRICATE_QUEUE"]) == 0


# ---- part 1 of "the service as deployed" ------------------------------------------------


def test_a_file_that_fails_inside_a_degradation_is_one_error_entry(shared_service, tmp_path):
    env, store, _ = shared_service
    paths = good_files(tmp_path / "in", 3)
    huge = write_huge(tmp_path / "in" / "huge.csv")
    out = tmp_path / "out.parquet"
    # 2-means splitting fails on coordinates near 1e300 (its probabilities overflow).
    types = "label_swap_random,split_random"
    run = generate(env, tmp_path / "in", "-o", out, types=types)
    assert run.exit_code == 1, run.output  # a file failed: exit 1, but the run completed
    assert "3 of 4 files processed, 1 failed" in run.stdout
    audit = json.loads((tmp_path / "out.parquet.run.json").read_text())
    (error,) = audit["errors"]
    assert error.startswith(f"{huge.resolve()}: ")
    assert audit["metadata"]["n_files"] == 4 and audit["metadata"]["n_files_failed"] == 1
    table = pd.read_parquet(out)
    assert sorted(table["clustering_name"].unique()) == sorted(p.stem for p in paths)
    options = GenerationOptions.parse(types=types, levels=LEVELS)
    local = run_local(sorted([*paths, huge]), options, jobs=2)
    assert local.errors == [error.replace(str(huge.resolve()), str(huge))]
    local.write(tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "local.parquet"))


def test_every_write_gives_all_of_a_runs_keys_a_full_ttl(service, tmp_path):
    _, store = service
    store.create_run("ttl", ["a.csv"], {"options": {}, "output": "x", "started_at": "-"}, "s1")
    parameters = store.key("ttl", "parameters")
    store.client.expire(parameters, 5)  # as if the run had been idle for days
    store.save_outcome("ttl", process_file(write_blobs(tmp_path / "a.csv"), OPTIONS))
    for key in store.keys("ttl"):
        assert 590 <= store.client.ttl(key) <= 600, key
    assert set(store.keys("ttl")) >= {parameters, store.key("ttl", "records")}


def test_a_run_id_whose_parameters_expired_starts_anew_without_leftovers(service, tmp_path):
    env, store = service
    paths = good_files(tmp_path / "in", 2)
    # What an expired run leaves behind: records of a file that is no longer an input.
    stale = process_file(write_blobs(tmp_path / "old.csv", seed=9), OPTIONS)
    store.save_outcome("reused", stale)
    with running_worker(env, concurrency=2):
        run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet", "--run-id", "reused")
    assert run.exit_code == 0, run.output
    assert "run reused had expired" in run.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out.parquet"), local_table(paths, tmp_path)
    )


def test_producer_that_loses_redis_prints_the_run_id_and_how_to_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "REDIS_RETRY_SECONDS", 2.0)
    good_files(tmp_path / "in", 1)
    with own_redis_server() as (url, server):
        env = service_env(unique("q"), unique("p"), METRICATE_BROKER_URL=url)

        def stop_redis_soon() -> None:
            wait_for(lambda: redis.Redis.from_url(url).keys("*:status"), timeout=20)
            server.kill()

        import threading

        threading.Thread(target=stop_redis_soon, daemon=True).start()
        args = [tmp_path / "in", "-o", tmp_path / "out.parquet", "--run-id", "lost"]
        # The resume hint repeats the command line as the user typed it.
        monkeypatch.setattr(sys, "argv", ["metricate", "generate", *map(str, args)])
        run = generate(env, *args)
    assert run.exit_code == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: lost Redis for 2 s")
    assert "run lost is not finished" in last
    assert last.endswith(
        f"resume it with: metricate generate {tmp_path / 'in'} -o "
        f"{tmp_path / 'out.parquet'} --run-id lost"
    )


def test_producer_says_when_no_worker_consumes_its_queue(service, tmp_path, monkeypatch):
    env, store = service
    monkeypatch.setattr(distributed, "NO_WORKER_SECONDS", 1.0)
    monkeypatch.setattr(distributed, "_WORKER_CHECK_INTERVAL", 0.5)
    good_files(tmp_path / "in", 1)

    def end_the_wait() -> None:
        # Once the producer has had time to notice, stop the run from outside.
        wait_for(lambda: store.status("idle"), timeout=20)
        import time

        time.sleep(4)
        store.set_status("idle", "failed", error="stopped by the test")

    import threading

    threading.Thread(target=end_the_wait, daemon=True).start()
    run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet", "--run-id", "idle")
    assert run.exit_code == 1
    queue = env["METRICATE_QUEUE"]
    assert f"no worker has consumed queue {queue!r} on redis://127.0.0.1:6379/15 for 1 s" in (
        run.stderr
    )
    assert "start one with `metricate worker` (still waiting)" in run.stderr


# ---- part 2: workers that need only Redis, and no stranded files ------------------------


def test_workers_need_only_redis_inputs_and_output_travel_through_it(service, tmp_path):
    env, store = service
    paths = good_files(tmp_path / "in", 3)
    (tmp_path / "in" / "bad.csv").write_text("cluster_id,dim_0\n")
    expected = local_table(paths, tmp_path)
    run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet", "--no-wait")
    assert run.exit_code == 0, run.output
    run_id = run_id_from(run.stdout)
    # The producer read every input once; the bad one is its error entry already.
    assert len(store.client.hkeys(store.key(run_id, "inputs"))) == 3
    assert store.done(run_id) == {str((tmp_path / "in" / "bad.csv").resolve())}
    assert "3 files queued" in run.stderr and "(1 could not be read: " in run.stderr
    # No worker can read the inputs: they are gone before any worker starts.
    for path in tmp_path.joinpath("in").iterdir():
        path.unlink()
    with running_worker(env, concurrency=2, name="remote"):
        wait_for(lambda: store.status(run_id).get("status") == "done")
    assert not (tmp_path / "out.parquet").exists()  # workers write nothing here
    collected = collect_to(env, run_id, tmp_path / "out.parquet")
    assert collected.exit_code == 1  # the bad file is an error
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), expected)
    audit = json.loads((tmp_path / "out.parquet.run.json").read_text())
    assert audit["errors"] == [
        f"{(tmp_path / 'in' / 'bad.csv').resolve()}: file has a header but no rows"
    ]


def test_shared_storage_mode_has_workers_write_the_output(shared_service, tmp_path):
    env, store, _ = shared_service
    paths = good_files(tmp_path / "in", 2)
    out = tmp_path / "out.parquet"
    run = generate(env, tmp_path / "in", "-o", out, "--shared-storage")
    assert run.exit_code == 0, run.output
    assert "METRICATE_BROKER_URL is set: sending the files to workers" in run.stderr
    (run_id,) = re.findall(r"^run (\w+): ", run.stderr, re.MULTILINE)
    assert store.result(run_id) is None and store.keys(run_id)  # nothing stored, output on disk
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_table(paths, tmp_path))


def test_a_second_live_run_to_the_same_output_is_refused(service, tmp_path):
    env, store = service
    good_files(tmp_path / "in", 2)
    out = tmp_path / "out.parquet"
    first = generate(env, tmp_path / "in", "-o", out, "--no-wait", "--run-id", "first")
    assert first.exit_code == 0, first.output
    second = generate(env, tmp_path / "in", "-o", out, "--no-wait", "--run-id", "second")
    assert second.exit_code == 2
    assert second.stderr.strip().splitlines()[-1] == (
        f"Error: {out}: run first is still writing it; wait for it "
        "(`metricate status first`) or choose another output"
    )
    assert store.keys("second") == []  # refused before anything of it was stored
    store.set_status("first", "done")  # once the first run has ended, the output is free
    third = generate(env, tmp_path / "in", "-o", out, "--no-wait", "--run-id", "third")
    assert third.exit_code == 0, third.output


def test_inputs_above_the_cap_are_refused_naming_shared_storage(service, tmp_path):
    env, store = service
    (tmp_path / "in").mkdir()
    write_blobs(tmp_path / "in" / "large.csv", n=30_000, d=8)  # about 2 MB compressed
    capped = {**env, "METRICATE_MAX_INPUT_MB": "1"}
    run = generate(capped, tmp_path / "in", "-o", tmp_path / "out.parquet", "--run-id", "big")
    assert run.exit_code == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "Error: the inputs need more than 1 MB in Redis (METRICATE_MAX_INPUT_MB); use "
        "--shared-storage to have the workers read them from a volume they all mount"
    )
    assert store.keys("big") == [] and store.client.llen(env["METRICATE_QUEUE"]) == 0


def test_a_worker_killed_outright_is_noticed_and_its_file_redone(service, tmp_path):
    env, store = service
    env = {**env, "METRICATE_LEASE_SECONDS": "15"}
    paths = good_files(tmp_path / "in", 2)
    paths.insert(0, write_blobs(tmp_path / "in" / "big.csv", n=3000, d=16, k=8))
    big = str(paths[0].resolve())
    out = tmp_path / "out.parquet"
    argv = [sys.executable, "-m", "producer.cli", "generate", str(tmp_path / "in"), "-o", str(out)]
    log = (tmp_path / "producer.log").open("w")
    producer = subprocess.Popen(
        [*argv, "--run-id", "k9", "--types", TYPES, "--levels", LEVELS],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with running_worker(env, concurrency=1, name="doomed") as worker:
            wait_for(lambda: store.leased("k9", [big]), timeout=60, interval=0.05)
            children = worker.pool_pids()
            os.kill(worker.process.pid, signal.SIGKILL)  # the main process, no warning
            killed = time.monotonic()
            # Its pool process notices the loss of its parent and ends too.
            wait_for(lambda: not any(running(pid) for pid in children), timeout=30)
        with running_worker(env, concurrency=1, name="restarted"):
            assert producer.wait(120) == 0, (tmp_path / "producer.log").read_text()
        took = time.monotonic() - killed
    finally:
        if producer.poll() is None:
            producer.kill()
        log.close()
    assert took < 120
    text = (tmp_path / "producer.log").read_text()
    assert f"{big}: its worker stopped answering; handed back to the queue" in text
    table = pd.read_parquet(out)
    assert not table.duplicated(["clustering_name", "degradation_type", "degradation_level"]).any()
    pd.testing.assert_frame_equal(table, local_table(paths, tmp_path))


def test_status_counts_running_queued_stranded_and_done_files(service, tmp_path):
    env, store = service
    good_files(tmp_path / "in", 3)
    run = generate(env, tmp_path / "in", "-o", tmp_path / "out.parquet", "--no-wait")
    run_id = run_id_from(run.stdout)
    files = store.expected(run_id)
    store.begin_attempt(run_id, files[0])
    store.renew_lease(run_id, files[0], "someone", 30)  # running
    store.begin_attempt(run_id, files[1])  # started, lease gone: stranded
    status = CliRunner().invoke(cli, ["status", run_id], env=env)
    assert status.exit_code == 0, status.output
    assert "files: 0 of 3 done, 1 running, 1 queued, 1 stranded" in status.stdout
    # Its message is still queued (no worker took it), so there is nothing to hand back.
    assert f"stranded: {files[1]}" in status.stdout
