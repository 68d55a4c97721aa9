"""Business logic; routers and the ingest worker stay thin and call these."""
