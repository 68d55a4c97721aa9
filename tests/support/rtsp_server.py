#!/usr/bin/python3
"""A real RTSP server for tests: GStreamer's gst-rtsp-server serving H.264 files, looping.

Run with the SYSTEM python (python3-gi lives there, not in the venv):

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554 --mount /cam1=clip.mp4 \
        [--mount /sub=clip360.mp4] [--user u --password p] [--no-loop]

Prints ``READY <port>`` on stdout once it listens. MP4/MOV files go through qtdemux, MPEG-TS
(``.ts``) through tsdemux, so a TS whose resolution changes mid-stream can be served too.
Looping: an EOS probe on the payloader drops the EOS and seeks the media pipeline back to 0,
so clients see one endless stream the way a camera behaves.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(path: Path) -> str:
    demux = "tsdemux" if path.suffix.lower() in {".ts", ".m2ts"} else "qtdemux"
    return (
        f'( filesrc location="{path}" ! {demux} ! h264parse config-interval=-1 '
        f"! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


def _loop_media(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
    """On EOS from the file, seek back to the start instead of ending the session."""
    pipeline = media.get_element()
    pay = pipeline.get_by_name("pay0")
    if pay is None:
        return

    # An RTSPMedia's element is a bin inside the media pipeline; seeks must go to the pipeline.
    def rewind() -> bool:
        top = media.get_element()
        while top.get_parent() is not None:
            top = top.get_parent()
        top.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        return False

    def on_event(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        event = info.get_event()
        if event is not None and event.type == Gst.EventType.EOS:
            GLib.idle_add(rewind)
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    pay.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)


def build_server(args: argparse.Namespace) -> GstRtspServer.RTSPServer:
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password or ""), token)
        server.set_auth(auth)
    for spec in args.mount:
        mount, _, file_name = spec.partition("=")
        path = Path(file_name).resolve()
        if not mount.startswith("/") or not path.is_file():
            sys.exit(f"bad --mount {spec!r}: need /path=existing_file")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(path))
        factory.set_shared(False)  # each client gets its own pipeline starting at frame 0
        if args.user:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_role("viewer")
            permissions.add_permission_for_role("viewer", "media.factory.access", True)
            permissions.add_permission_for_role("viewer", "media.factory.construct", True)
            factory.set_permissions(permissions)
        if args.loop:
            factory.connect("media-configure", _loop_media)
        mounts.add_factory(mount, factory)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--mount", action="append", default=[], help="/path=file.mp4 (repeatable)")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--no-loop", dest="loop", action="store_false")
    args = parser.parse_args()
    if not args.mount:
        parser.error("at least one --mount is required")
    Gst.init(None)
    server = build_server(args)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        sys.exit(f"could not listen on {args.address}:{args.port}")
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
