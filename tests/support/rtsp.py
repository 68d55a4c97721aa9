"""Start and stop the real GStreamer RTSP server (``rtsp_server.py``) from tests.

The server runs under the system python because python3-gi is a Debian package, not a wheel.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from functools import cache
from pathlib import Path
from urllib.parse import quote

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


@cache
def gst_rtsp_unavailable_reason() -> str | None:
    """None if the system python can import GstRtspServer, else why not (for pytest.skip)."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} not found"
    probe = (
        "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0'); "
        "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
        "assert Gst.ElementFactory.find('rtph264pay') and Gst.ElementFactory.find('h264parse')"
    )
    done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return (
            "GStreamer RTSP server not usable from /usr/bin/python3 (apt-get install gstreamer1.0-rtsp "
            "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad): "
            f"{lines[-1] if lines else 'exit code ' + str(done.returncode)}"
        )
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RtspServer:
    """One server process serving ``mounts`` ({"/cam": Path}) on 127.0.0.1:``port``, looping."""

    def __init__(
        self,
        mounts: dict[str, Path],
        *,
        port: int | None = None,
        user: str | None = None,
        password: str | None = None,
        loop: bool = True,
    ) -> None:
        self.mounts, self.port = mounts, port or free_port()
        self.user, self.password, self.loop = user, password, loop
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout_s: float = 15.0) -> RtspServer:
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port)]
        for mount, path in self.mounts.items():
            cmd += ["--mount", f"{mount}={path}"]
        if self.user:
            cmd += ["--user", self.user, "--password", self.password or ""]
        if not self.loop:
            cmd.append("--no-loop")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._proc = proc
        deadline = time.monotonic() + timeout_s
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready and proc.stdout.readline().startswith("READY"):
                return self
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"RTSP server exited with {proc.returncode}: {err.strip()}")
        self.stop()
        raise RuntimeError(f"RTSP server not ready within {timeout_s}s")

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL); the port is free again afterwards."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: what a camera losing power looks like to clients."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            self._proc = None

    @property
    def pid(self) -> int | None:
        """The server process id while it runs (benchmarks read its CPU time from /proc)."""
        return self._proc.pid if self.running and self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, mount: str, user: str | None = None, password: str | None = None) -> str:
        """``rtsp://[user:password@]127.0.0.1:port/mount`` (credentials URL-quoted)."""
        auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{mount.lstrip('/')}"
