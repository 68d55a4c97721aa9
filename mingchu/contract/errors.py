"""One exception type for everything that can be wrong with a message on the wire."""

from __future__ import annotations


class ContractError(ValueError):
    """A payload or topic that does not follow the contract.

    ``reason`` is a short machine-friendly code (for metrics and quarantine),
    ``str(error)`` a sentence for the log.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)
