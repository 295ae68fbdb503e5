"""A long list the operator reads a page at a time (/list, /dnc)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_PAGE_SIZE = 10
Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    page: int
    """1-based; a page past the end is answered with the last one."""
    pages: int
    total: int


def clamp_page(page: int, total: int, page_size: int) -> tuple[int, int]:
    """The page to show for the one asked (within 1..pages) and how many pages there are."""
    pages = max(1, math.ceil(total / page_size))
    return min(max(1, page), pages), pages
