"""The account the judgement generators (``scenarios``, ``fieldwork``, ``teams``) hand out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class GeneratedAccount:
    """One account's history as native events, its plan, and its truth."""

    account_id: str
    kind: str
    model: str
    events: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    plan_first: bool = True
    truth: dict[str, Any] = field(default_factory=dict)
    """The injected risk's size and age (for the benchmarks' breakdown of misses)."""

    @property
    def expected(self) -> str | None:
        """The signal type the account must end with (None: it must raise nothing)."""
        return None if self.kind == "clean" else self.kind
