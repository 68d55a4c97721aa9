"""Routers; :data:`ROUTERS` is what ``create_app`` mounts (the people area adds its own in ``install_people``)."""

from cloud_api.api.routes import analytics, cases, devices, ops, org, reports, users

ROUTERS = (users.router, org.router, devices.router, cases.router, ops.router, analytics.router, reports.router)

__all__ = ["ROUTERS"]
