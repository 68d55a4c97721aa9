"""Hub ingest throughput and latency on PostgreSQL through the real Mosquitto broker.

* throughput: N signed events with ~90 KB evidence are queued at the broker, then 1 or 2
  `mingchu-hub ingest` worker processes (one shared subscription) drain them; events/s is
  N / (first event received → last evidence row written, just before the last commit).
  Settings are interleaved and repeated; medians reported, with the workers' CPU per event.
  The benchmark runs its own Mosquitto (same package as the system's) on a spare port with the
  offline queue raised from its default of 1000, so runs can last seconds and the workers' start-up
  skew (one may subscribe ~0.1 s before the other) is a small part of them. Tables are TRUNCATEd
  between runs: DELETE left dead rows that made every later run slower.
* latency: one worker, events published at a steady rate; detection-to-case latency is
  commit time (the ack hook) minus the event's occurred_at, p50/p95.

    .venv/bin/python bench/bench_ingest.py --events 5000 --reps 5
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cloud_api.config import HubConfig, IngestConfig, MqttConfig  # noqa: E402
from cloud_api.context import build_context  # noqa: E402
from cloud_api.db.models import Evidence, ViolationEventRow  # noqa: E402
from cloud_api.ingest.worker import IngestWorker  # noqa: E402
from cloud_api.migrations import upgrade  # noqa: E402
from tests.hub.helpers import World, event_payload  # noqa: E402

PG = "host=127.0.0.1 port=5432 user=postgres dbname=test"
BROKER_PORT = 18831  # the benchmark's own broker (see start_broker)


def start_broker(queue: int, workdir: str) -> subprocess.Popen[bytes]:
    """A private Mosquitto whose offline sessions may queue ``queue`` messages (the default caps at 1000)."""
    conf = Path(workdir) / "mosquitto.conf"
    conf.write_text(
        f"listener {BROKER_PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"max_queued_messages {queue}\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        try:
            probe.connect("127.0.0.1", BROKER_PORT)
            probe.disconnect()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"mosquitto did not start on port {BROKER_PORT}")


def evidence_jpeg(target: int = 90_000) -> bytes:
    """A noisy 640x480 JPEG of about ``target`` bytes (camera frames compress roughly like this)."""
    rng = random.Random(7)
    noise = Image.effect_noise((640, 480), 30).convert("L")
    base = Image.linear_gradient("L").resize((640, 480))
    image = Image.merge("RGB", [Image.blend(base, noise, 0.35 + 0.1 * rng.random()) for _ in range(3)])
    sizes = []
    for quality in range(95, 10, -2):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        sizes.append(out.getvalue())
    return min(sizes, key=lambda data: abs(len(data) - target))


def events_committed(hub, school: str) -> int:  # type: ignore[no-untyped-def]
    with hub.db.session() as s:
        return int(
            s.scalar(select(func.count()).select_from(ViolationEventRow).where(ViolationEventRow.school_id == school))
            or 0
        )


def clear(hub, storage: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Empty the ingest tables and the evidence folder."""
    with hub.db.engine.begin() as conn:
        conn.execute(
            text("TRUNCATE evidence, violation_events, notifications, case_transitions, cases, quarantine CASCADE")
        )
    if storage is not None:
        shutil.rmtree(Path(storage) / "evidence", ignore_errors=True)


def publish_all(payloads: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", BROKER_PORT)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in payloads]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def start_workers(n: int, env: dict[str, str], group: str) -> tuple[list[subprocess.Popen[str]], float]:
    """The worker processes and their CPU seconds at the moment each subscribed (when it starts draining)."""
    procs = []
    for i in range(n):
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloud_api.cli", "ingest", "--client-id", f"bench-{group}-{i}"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
    cpu_at_start: dict[int, float] = {}
    subscribed = threading.Barrier(n + 1)

    def watch(proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "ingest: subscribed" in line and proc.pid not in cpu_at_start:
                cpu_at_start[proc.pid] = cpu_seconds(proc.pid)  # at once: it drains from now on
                subscribed.wait()

    for proc in procs:
        threading.Thread(target=watch, args=(proc,), daemon=True).start()
    subscribed.wait(timeout=120)
    return procs, sum(cpu_at_start.values())


def stop(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu() -> dict[str, dict[int, float]]:
    """CPU seconds so far of every PostgreSQL and Mosquitto process, by pid (the whole box's: quiet box only)."""
    out: dict[str, dict[int, float]] = {"postgres": {}, "mosquitto": {}}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name = Path(f"/proc/{entry}/comm").read_text().strip()
            if name in out:
                out[name][int(entry)] = cpu_seconds(int(entry))
        except OSError:
            continue  # exited meanwhile
    return out


def server_cpu_since(before: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU each server used since ``before``; processes started since count whole (backends of our workers)."""
    now = server_cpu()
    return {name: sum(t - before[name].get(pid, 0.0) for pid, t in pids.items()) for name, pids in now.items()}


def throughput(  # type: ignore[no-untyped-def]
    hub, world: World, url: str, storage: str, n_events: int, workers: int, image: bytes
) -> tuple[float, float, dict[str, float]]:
    """(events/s, worker CPU ms per event, server CPU ms per event) for one drain of a backlog of ``n_events``."""
    clear(hub, storage)
    group = f"g{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "MINGCHU_HUB__DATABASE__URL": url,
        "MINGCHU_HUB__MQTT__SHARE_GROUP": group,
        "MINGCHU_HUB__MQTT__SCHOOLS": f"[{world.school_a}]",
        "MINGCHU_HUB__MQTT__PORT": str(BROKER_PORT),
        "MINGCHU_HUB__MQTT__SESSION_EXPIRY_S": "600",
        "MINGCHU_HUB__MQTT__RECEIVE_MAXIMUM": "256",
        "MINGCHU_HUB__STORAGE__ROOT": storage,
    }
    # register the sessions first so the broker keeps the backlog for them, then stop them
    stop(start_workers(workers, env, group)[0])
    payloads = [(world.topic(), world.event(track_id=i, image=image)[0]) for i in range(n_events)]
    publish_all(payloads)
    t0 = time.perf_counter()
    servers0 = server_cpu()
    procs, cpu0 = start_workers(workers, env, group)
    try:
        while events_committed(hub, world.school_a) < n_events:
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("timed out draining the backlog")
            time.sleep(0.05)
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
        servers = server_cpu_since(servers0)  # before stopping: our database backends exit with the workers
    finally:
        stop(procs)
    # first event received → last evidence row written: excludes process start-up and subscription
    with hub.db.session() as s:
        first = s.scalar(
            select(func.min(ViolationEventRow.received_at)).where(ViolationEventRow.school_id == world.school_a)
        )
        last = s.scalar(select(func.max(Evidence.created_at)))
    per_event = {name: 1000 * seconds / n_events for name, seconds in servers.items()}
    return n_events / (last - first).total_seconds(), 1000 * cpu / n_events, per_event


def latency(hub, world: World, n_events: int, rate: float, image: bytes) -> list[float]:  # type: ignore[no-untyped-def]
    clear(hub)
    done: dict[str, float] = {}

    def record(message: mqtt.MQTTMessage, outcome: object) -> None:
        if getattr(outcome, "outcome", "") == "accepted" and message.topic.endswith("/events"):
            done[str(len(done))] = time.time()

    group = f"l{uuid.uuid4().hex[:8]}"
    worker = IngestWorker(
        hub.ingest_service(),
        MqttConfig(
            port=BROKER_PORT,
            client_id=f"bench-lat-{group}",
            share_group=group,
            schools=(world.school_a,),
            session_expiry_s=30,
        ),
        IngestConfig(),
        hub.metrics,
        before_ack=record,
    )
    worker.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", BROKER_PORT)
    client.loop_start()
    occurred: list[float] = []
    try:
        for i in range(n_events):
            now = datetime.now(UTC)
            payload, _ = world.event(track_id=10_000 + i, occurred_at=now, image=image)
            occurred.append(now.timestamp())
            client.publish(world.topic(), payload, qos=1)
            time.sleep(1 / rate)
        deadline = time.time() + 120
        while len(done) < n_events and time.time() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
        worker.stop()
    commits = [done[str(i)] for i in range(len(done))]
    return [c - o for c, o in zip(commits, occurred, strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="backlog per run")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="events/s for the latency run")
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    storage = tempfile.mkdtemp(prefix="bench-evidence-")
    broker_dir = tempfile.mkdtemp(prefix="bench-broker-")
    broker = start_broker(args.events + 1000, broker_dir)
    hub = build_context(HubConfig.model_validate({"database": {"url": url}, "storage": {"root": storage}}))
    try:
        upgrade(hub.db.engine)
        world = World(hub, suffix=f"-{uuid.uuid4().hex[:6]}")
        image = evidence_jpeg()
        size = len(
            event_payload(world.key, school_id=world.school_a, device_id=world.device, camera_id="c", image=image)[0]
        )
        print(f"payload {size / 1000:.1f} kB; {args.events} events x {args.reps} reps per setting", flush=True)
        rates: dict[int, list[float]] = {1: [], 2: []}
        cpus: dict[int, list[float]] = {1: [], 2: []}
        server_cpus: dict[str, list[float]] = {"postgres": [], "mosquitto": []}
        loads = [os.getloadavg()]
        for rep in range(args.reps):
            for workers in (1, 2):  # interleaved so load bursts hit both alike
                r, cpu, servers = throughput(hub, world, url, storage, args.events, workers, image)
                rates[workers].append(r)
                cpus[workers].append(cpu)
                for name, ms in servers.items():
                    server_cpus[name].append(ms)
                print(
                    f"rep {rep + 1}/{args.reps}: {workers} worker(s) {r:.0f} events/s, "
                    f"worker CPU {cpu:.2f} ms/event, postgres {servers['postgres']:.2f}, "
                    f"mosquitto {servers['mosquitto']:.2f}, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                loads.append(os.getloadavg())
        lat = latency(hub, world, args.latency_events, args.rate, image)
        loads.append(os.getloadavg())
        lat_ms = sorted(x * 1000 for x in lat)
        p95 = lat_ms[max(0, round(0.95 * len(lat_ms)) - 1)]
        one, two = statistics.median(rates[1]), statistics.median(rates[2])
        print()
        print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs")
        one_min = [x[0] for x in loads]
        print(
            f"load averages (1/5/15 min) at start {'/'.join(f'{x:.1f}' for x in loads[0])}, "
            f"at end {'/'.join(f'{x:.1f}' for x in loads[-1])}; 1-min range {min(one_min):.1f}-{max(one_min):.1f}"
        )
        print(
            "| setting | median events/s (all workers) | per worker | worker CPU ms/event (median) | runs (events/s) |"
        )
        print("|---|---|---|---|---|")
        for n, med in ((1, one), (2, two)):
            runs = ", ".join(f"{r:.0f}" for r in rates[n])
            print(
                f"| {n} worker{'s' if n > 1 else ''} | {med:.0f} | {med / n:.0f} | {statistics.median(cpus[n]):.2f} | {runs} |"
            )
        paired = [b / a for a, b in zip(rates[1], rates[2], strict=True)]
        print(
            f"| 2 vs 1 worker, median of paired runs | {statistics.median(paired):.2f}x | | | "
            f"{', '.join(f'{r:.2f}' for r in paired)} |"
        )
        pg, mq = statistics.median(server_cpus["postgres"]), statistics.median(server_cpus["mosquitto"])
        total = statistics.median(cpus[1] + cpus[2]) + pg + mq
        print()
        print(
            f"CPU per event (medians over all runs): worker {statistics.median(cpus[1] + cpus[2]):.2f} ms, "
            f"postgres {pg:.2f} ms, mosquitto {mq:.2f} ms; total {total:.2f} ms, so "
            f"{os.cpu_count()} CPUs carry at most {1000 * (os.cpu_count() or 1) / total:.0f} events/s"
        )
        print(
            f"latency over {len(lat_ms)} events at {args.rate:g}/s: p50 {statistics.median(lat_ms):.0f} ms, p95 {p95:.0f} ms"
        )
    finally:
        hub.db.dispose()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(storage, ignore_errors=True)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(broker_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
