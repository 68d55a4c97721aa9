"""Plans deliveries for alerts, sends them on a small pool with exponential back-off, logs every try.

Alerts come from the core notifier's ``notifications`` outbox (rows with ``delivered_at`` null are
taken and marked) or directly via :meth:`PushService.publish`. Each (channel, target) gets one
:class:`PushDelivery` row even when several recipients share it (one group robot, one message).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from cloud_api.db.base import utcnow
from cloud_api.db.models.cases import Case, Notification
from cloud_api.db.models.people import PushDelivery, PushPreference, WebPushSubscription
from cloud_api.db.session import Database
from cloud_api.people.config import PushConfig
from cloud_api.push.alert import KIND_TITLES, Alert
from cloud_api.push.channels import Channel, ChannelDeps, DeliveryError, build_channels
from cloud_api.push.realtime import EventBroker
from cloud_api.push.routing import channel_choice, recipients, roles_for
from cloud_api.push.vapid import VapidKeys, load_or_create

log = logging.getLogger(__name__)
QUIET_TYPES_EXEMPT = frozenset({"realtime"})


class PushService:
    """Owns the channels, the retry schedule and the sender pool."""

    def __init__(self, db: Database, cfg: PushConfig, broker: EventBroker) -> None:
        self.db = db
        self.cfg = cfg
        self.broker = broker
        self._vapid: dict[str, VapidKeys] = {}
        deps = ChannelDeps(broker, self._vapid_for, self._subscription_for, self._forget_subscription)
        self.channels: dict[str, Channel] = build_channels(cfg.channels, deps)
        self._heap: list[tuple[float, int]] = []
        self._cond = threading.Condition()
        self._inflight = 0
        self._poll_now = False
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    # -- keys and subscriptions ------------------------------------------------------------------
    def _vapid_for(self, key_dir: Any) -> VapidKeys:
        key = str(key_dir)
        if key not in self._vapid:
            self._vapid[key] = load_or_create(key_dir)
        return self._vapid[key]

    def vapid_public_key(self) -> str | None:
        for channel in self.channels.values():
            if channel.type == "webpush":
                return channel.keys.public_key_b64url  # type: ignore[attr-defined,no-any-return]
        return None

    def _subscription_for(self, endpoint: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            row = s.scalars(select(WebPushSubscription).where(WebPushSubscription.endpoint == endpoint)).first()
            return None if row is None else {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}

    def _forget_subscription(self, endpoint: str) -> None:
        with self.db.session() as s:
            for row in s.scalars(select(WebPushSubscription).where(WebPushSubscription.endpoint == endpoint)):
                s.delete(row)

    # -- planning --------------------------------------------------------------------------------
    def publish(self, alert: Alert, roles: list[str] | tuple[str, ...] = ()) -> list[int]:
        """Plan and schedule deliveries of ``alert``; returns the delivery ids."""
        with self.db.session() as s:
            ids = self._plan(s, alert, roles)
        for delivery_id in ids:
            self._schedule(delivery_id, 0.0)
        return ids

    def _plan(self, s: Any, alert: Alert, roles: list[str] | tuple[str, ...]) -> list[int]:
        now = utcnow()
        seen: set[tuple[str, str]] = set()
        rows: list[PushDelivery] = []
        for user in recipients(s, alert.school_id, roles_for(alert, roles)):
            pref = s.get(PushPreference, user.id)
            names, quiet = channel_choice(pref, alert, self.cfg.default_channels, now)
            for name in names:
                channel = self.channels.get(name)
                if channel is None:
                    continue
                for target in channel.targets(s, user, alert):
                    if (name, target) in seen:
                        continue
                    seen.add((name, target))
                    held = quiet and channel.type not in QUIET_TYPES_EXEMPT
                    rows.append(
                        PushDelivery(
                            notification_id=alert.notification_id,
                            alert_kind=alert.kind,
                            case_id=alert.case_id,
                            school_id=alert.school_id,
                            user_id=user.id,
                            channel=name,
                            channel_type=channel.type,
                            target=target,
                            status="skipped" if held else "pending",
                            last_error="quiet hours" if held else "",
                            payload=alert.as_json(),
                        )
                    )
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows if r.status == "pending"]

    def alert_from_notification(self, s: Any, row: Notification) -> Alert:
        case = s.get(Case, row.case_id) if row.case_id is not None else None
        title = KIND_TITLES.get(row.kind, row.kind)
        if case is None:
            return Alert(row.kind, row.school_id, None, 3, f"【明厨】{title}", "", notification_id=row.id)
        where = " / ".join(x for x in (case.room_id, case.camera_id) if x)
        text = case.comment if case.kind == "parent_report" else f"{case.violation_class} @ {where}"
        return Alert(
            kind=row.kind,
            school_id=row.school_id or case.school_id,
            case_id=case.id,
            severity=case.severity,
            title=f"【明厨】{title} #{case.id}",
            text=text,
            url=f"{self.cfg.public_base_url.rstrip('/')}/web/cases/{case.id}",
            card=case.card,
            notification_id=row.id,
        )

    def poll_outbox(self, limit: int = 100) -> int:
        """Take undelivered notifications, plan their deliveries, mark them taken."""
        scheduled: list[int] = []
        with self.db.session() as s:
            rows = s.scalars(
                select(Notification)
                .where(Notification.delivered_at.is_(None))
                .order_by(Notification.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # several hub processes never take the same row
            ).all()
            for row in rows:
                alert = self.alert_from_notification(s, row)
                scheduled += self._plan(s, alert, list(row.recipients_roles or []))
                row.delivered_at = utcnow()
        for delivery_id in scheduled:
            self._schedule(delivery_id, 0.0)
        return len(rows)

    # -- sending ---------------------------------------------------------------------------------
    def _schedule(self, delivery_id: int, delay_s: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay_s, delivery_id))
            self._cond.notify_all()

    def backoff(self, attempts: int) -> float:
        return float(min(self.cfg.backoff_max_s, self.cfg.backoff_initial_s * 2 ** max(0, attempts - 1)))

    def attempt(self, delivery_id: int) -> str:
        """One try of one delivery; logs it and schedules the next try on a transient failure."""
        with self.db.session() as s:
            row = s.get(PushDelivery, delivery_id)
            if row is None or row.status != "pending":
                return "gone"
            channel = self.channels.get(row.channel)
            alert = Alert(**{**row.payload, "at": row.created_at}) if row.payload else None
            target, attempts = row.target, row.attempts + 1
        error, permanent = "", False
        if channel is None or alert is None:
            error, permanent = "channel no longer configured", True
        else:
            try:
                channel.send(alert, target)
            except DeliveryError as exc:
                error, permanent = str(exc), exc.permanent
            except Exception as exc:  # a bug in a channel must not kill the sender
                log.exception("push channel %s crashed", row.channel)
                error = f"{type(exc).__name__}: {exc}"
        retry = bool(error) and not permanent and attempts < self.cfg.max_attempts
        with self.db.session() as s:
            row = s.get(PushDelivery, delivery_id)
            assert row is not None
            row.attempts, row.updated_at = attempts, utcnow()
            if error:
                row.last_error = f"try {attempts}: {error}"[:2000]
            if not error:
                row.status, row.delivered_at = "delivered", utcnow()
            elif not retry:
                row.status = "failed"
            status = row.status
        if retry:
            self._schedule(delivery_id, self.backoff(attempts))
        return status

    def poll_soon(self) -> None:
        """Read the outbox now instead of at the next poll (called after a case commits)."""
        with self._cond:
            self._poll_now = True
            self._cond.notify_all()

    def _run(self) -> None:
        next_poll = 0.0
        assert self._pool is not None
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_poll or self._poll_now:
                self._poll_now = False
                try:
                    self.poll_outbox()
                except Exception:  # database down: try again next round
                    log.exception("push outbox poll failed")
                next_poll = now + self.cfg.poll_s
            due: list[int] = []
            with self._cond:
                while self._heap and self._heap[0][0] <= time.monotonic():
                    due.append(heapq.heappop(self._heap)[1])
                wait = next_poll - time.monotonic()
                if self._heap:
                    wait = min(wait, self._heap[0][0] - time.monotonic())
                if not due and not self._poll_now:
                    self._cond.wait(timeout=max(0.01, wait))
            for delivery_id in due:
                with self._cond:
                    self._inflight += 1
                self._pool.submit(self._attempt_tracked, delivery_id)

    def _attempt_tracked(self, delivery_id: int) -> None:
        try:
            self.attempt(delivery_id)
        except Exception:
            log.exception("push delivery %s failed to run", delivery_id)
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    def start(self) -> None:
        """Start the scheduler thread and sender pool (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self.cfg.workers, thread_name_prefix="push")
        self._thread = threading.Thread(target=self._run, name="push-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)
        assert self._pool is not None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread, self._pool = None, None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests and shutdown: true once nothing is due soon and nothing is in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while time.monotonic() < deadline:
                due_soon = bool(self._heap) and self._heap[0][0] <= time.monotonic() + 0.05
                if not due_soon and self._inflight == 0:
                    return True
                self._cond.wait(timeout=0.05)
        return False
