"""Live view: glass-to-glass latency and bandwidth per viewer through the real relay.

A fake edge publishes JPEG ``LiveFrame`` messages (``captured_at`` = now) on the real broker; the hub
runs under uvicorn; N WebSocket viewers receive frames. Latency is the viewer's receive time minus
``captured_at`` (same machine clock), so it covers edge encode → MQTT → hub decode → fan-out → WS.

    .venv/bin/python bench/bench_live.py --seconds 8 --write-docs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cloud_api.context import build_context  # noqa: E402
from cloud_api.migrations import upgrade  # noqa: E402
from tests.people.conftest import MQTT_HOST, MQTT_PORT, PASSWORD, PeopleWorld, hub_config, make_client, people_config  # noqa: E402
from tests.people.servers import serve  # noqa: E402
from tests.support.fake_edge import FakeEdge  # noqa: E402


@dataclass
class Result:
    viewers: int
    fps: float
    width: int
    latencies_ms: list[float]
    frames: int
    bytes: int
    seconds: float

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        p90 = lat[int(0.9 * (len(lat) - 1))] if lat else float("nan")
        per_viewer_kbps = self.bytes * 8 / 1000 / self.seconds / self.viewers
        per_viewer_fps = self.frames / self.seconds / self.viewers
        return (
            f"| {self.viewers} | {self.fps:g} | {self.width} | {statistics.median(lat):.1f} | {p90:.1f} | "
            f"{per_viewer_fps:.2f} | {per_viewer_kbps:.0f} | {self.bytes / max(self.frames, 1) / 1024:.1f} |"
        )


async def _viewer(url: str, token: str, seconds: float, out: list[tuple[float, int]]) -> None:
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:
        end = time.monotonic() + seconds
        last_ping = 0.0
        meta = None
        while time.monotonic() < end:
            if time.monotonic() - last_ping > 0.5:
                await ws.send("ping")
                last_ping = time.monotonic()
            try:
                msg = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            if isinstance(msg, str):
                meta = json.loads(msg)
                continue
            if meta is not None:
                captured = datetime.fromisoformat(meta["captured_at"])
                latency = (datetime.now(UTC) - captured).total_seconds() * 1000
                out.append((latency, len(msg)))
                meta = None
        await ws.send("bye")


async def _run_viewers(base: str, cam: str, tokens: list[str], seconds: float) -> list[tuple[float, int]]:
    url = base.replace("http://", "ws://") + f"/api/v1/live/{cam}/ws"
    samples: list[tuple[float, int]] = []
    await asyncio.gather(*(_viewer(url, t, seconds, samples) for t in tokens))
    return samples


def run(viewers: int, fps: float, width: int, seconds: float, work: Path) -> Result:
    import httpx

    hub = build_context(hub_config(f"sqlite:///{work / f'hub-{viewers}-{fps}-{width}.db'}", work / "evidence"))
    upgrade(hub.db.engine)
    world = PeopleWorld(hub)
    cfg = people_config(
        work, live={"fps": fps, "max_width": width, "viewer_queue": 8}, parents={"max_viewers_per_camera": 100}
    )
    client, _ = make_client(hub, cfg, live=True)
    with FakeEdge(world.school_a, world.device, world.key, MQTT_HOST, MQTT_PORT), serve(client.app) as base:
        names = ["head_a", "manager_a", "admin", "regulator", "parent_a"]
        tokens = []
        for i in range(viewers):
            r = httpx.post(
                f"{base}/api/v1/auth/login", json={"username": world.usernames[names[i % 5]], "password": PASSWORD}
            )
            tokens.append(r.json()["access_token"])
        samples = asyncio.run(_run_viewers(base, world.cam, tokens, seconds + 1.0))
    hub.db.dispose()
    # drop the first second (stream start-up) by skipping the first fps frames per viewer
    skip = int(fps) * viewers
    kept = samples[skip:]
    return Result(viewers, fps, width, [s[0] for s in kept], len(kept), sum(s[1] for s in kept), seconds)


def draw_png(rows: list[Result], path: Path) -> None:
    """Bars per setting: median and p90 latency (ms) and bandwidth per viewer (Mbit/s)."""
    from PIL import Image, ImageDraw

    width, row_h, left = 900, 46, 190
    img = Image.new("RGB", (width, 70 + row_h * len(rows) + 40), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 10), "Live view relay: glass-to-glass latency and bandwidth per viewer", fill="black")
    d.text((left, 32), "latency ms (dark: median, light: p90)", fill=(40, 70, 160))
    d.text((560, 32), "Mbit/s per viewer", fill=(30, 130, 60))
    lat_max = max(sorted(r.latencies_ms)[int(0.9 * (len(r.latencies_ms) - 1))] for r in rows) or 1.0
    bw_max = max(r.bytes * 8 / 1e6 / r.seconds / r.viewers for r in rows) or 1.0
    for i, r in enumerate(rows):
        y = 60 + i * row_h
        lat = sorted(r.latencies_ms)
        med, p90 = statistics.median(lat), lat[int(0.9 * (len(lat) - 1))]
        mbps = r.bytes * 8 / 1e6 / r.seconds / r.viewers
        d.text((10, y + 8), f"{r.viewers} viewer(s) {r.fps:g} fps {r.width} px", fill="black")
        d.rectangle((left, y + 4, left + int(330 * p90 / lat_max), y + 30), fill=(170, 190, 235))
        d.rectangle((left, y + 10, left + int(330 * med / lat_max), y + 24), fill=(40, 70, 160))
        d.text((left + int(330 * p90 / lat_max) + 4, y + 10), f"{med:.0f} / {p90:.0f}", fill="black")
        d.rectangle((560, y + 8, 560 + int(250 * mbps / bw_max), y + 26), fill=(30, 130, 60))
        d.text((560 + int(250 * mbps / bw_max) + 4, y + 10), f"{mbps:.2f}", fill="black")
    d.text(
        (10, img.height - 26),
        "fake edge -> Mosquitto -> hub relay -> uvicorn WebSocket -> client (same host)",
        fill="gray",
    )
    img.save(path)


HEADER = (
    "| viewers | fps | width px | median latency ms | p90 latency ms | frames/s per viewer | kbit/s per viewer |"
    " KiB/frame |\n|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per setting")
    parser.add_argument(
        "--write-docs", action="store_true", help="replace the '## Live view' section of docs/benchmarks.md"
    )
    args = parser.parse_args()
    settings = [(1, 3.0, 640), (5, 3.0, 640), (1, 10.0, 640), (5, 10.0, 640), (1, 3.0, 1280)]
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (viewers, fps, width) in enumerate(settings, 1):
            print(f"[{i}/{len(settings)}] {viewers} viewer(s), {fps:g} fps, {width} px …", flush=True)
            result = run(viewers, fps, width, args.seconds, Path(tmp))
            print("   " + result.row(), flush=True)
            rows.append(result)
    load_after = os.getloadavg()[0]
    one = {(r.fps, r.width): r for r in rows if r.viewers == 1}
    ratios = []
    for r in rows:
        if r.viewers > 1 and (r.fps, r.width) in one:
            ratio = statistics.median(r.latencies_ms) / statistics.median(one[(r.fps, r.width)].latencies_ms)
            ratios.append(f"{r.viewers} viewers vs 1 at {r.fps:g} fps: median latency ×{ratio:.2f}")
    table = "\n".join([HEADER, *(r.row() for r in rows)])
    section = f"""## Live view

Relay path measured end to end: fake edge (JPEG of a noisy gradient, quality 80, `captured_at` = publish time) →
Mosquitto 127.0.0.1:1883 (QoS 0) → hub live relay (decode, fan-out) → uvicorn WebSocket → `websockets` client
in the same machine (same clock). {args.seconds:g} s measured per setting after 1 s of start-up.
Machine: {platform.machine()}, {os.cpu_count()} logical CPUs shared with other jobs (1-min load {load_before:.1f} before,
{load_after:.1f} after); expect ±30 % on latency.

{table}

{"; ".join(ratios)}.

![latency and bandwidth per setting](live-view-bench.png)

The edge's JPEG encode time is not included (the edge agent measures it); a real camera adds its own
capture/encode delay before `captured_at`. Bandwidth per viewer is the JPEG payload only (WebSocket and
JSON metadata add < 1 %).

Command:

```sh
.venv/bin/python bench/bench_live.py --seconds {args.seconds:g} --write-docs
```
"""
    print(section)
    if args.write_docs:
        path = ROOT / "docs" / "benchmarks.md"
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        pattern = re.compile(r"^## Live view\n.*?(?=^## |\Z)", re.S | re.M)
        text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
        path.write_text(text)
        draw_png(rows, ROOT / "docs" / "live-view-bench.png")
        print(f"wrote {path} and docs/live-view-bench.png")


if __name__ == "__main__":
    main()
