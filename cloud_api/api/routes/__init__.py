"""Routers; :data:`ROUTERS` is what ``create_app`` mounts (other areas append their own in ``create_app``)."""

from cloud_api.api.routes import auth, cases, devices, ops, org

ROUTERS = (auth.router, org.router, devices.router, cases.router, ops.router)

__all__ = ["ROUTERS"]
