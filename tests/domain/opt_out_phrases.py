"""The labelled opt-out phrases: the set the detector was written against, and a held-out set
written after it and never tuned on (shared by the test and bench/intent.py)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
DEVELOPMENT = HERE / "opt_out_phrases.csv"
HELD_OUT = HERE / "opt_out_phrases_holdout.csv"


@dataclass(frozen=True)
class Phrase:
    text: str
    opt_out: bool


@dataclass(frozen=True)
class Score:
    positives: int
    negatives: int
    caught: int
    false_alarms: int

    @property
    def recall(self) -> float:
        return self.caught / self.positives if self.positives else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_alarms / self.negatives if self.negatives else 0.0


def load(path: Path) -> list[Phrase]:
    with path.open(encoding="utf-8", newline="") as file:
        return [Phrase(row["text"], row["label"] == "1") for row in csv.DictReader(file)]


def score(detect, phrases: list[Phrase]) -> Score:
    said = [(p, detect(p.text)) for p in phrases]
    return Score(
        positives=sum(p.opt_out for p in phrases),
        negatives=sum(not p.opt_out for p in phrases),
        caught=sum(p.opt_out and got for p, got in said),
        false_alarms=sum(not p.opt_out and got for p, got in said),
    )
