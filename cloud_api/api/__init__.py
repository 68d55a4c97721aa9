"""REST API under ``/api/v1``: thin routers over :mod:`cloud_api.services`."""
