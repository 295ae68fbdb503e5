"""Opt-out detection: recall and false positives of the keyword detector on labelled phrases.

Reads the development set (tests/domain/opt_out_phrases.csv, which the detector was written
against) and the held-out set (opt_out_phrases_holdout.csv, written after it, never tuned
on), prints each set's figures and what it got wrong, and ends with one line for both sets
together and the held-out figures beside them. No database: `--quick` changes nothing.
"""

from __future__ import annotations

import time

from tests.domain.opt_out_phrases import DEVELOPMENT, HELD_OUT, load, score

from bench.common import parser, print_result
from salesbot.domain.opt_out import KeywordOptOutDetector


def main() -> None:
    detector = KeywordOptOutDetector()
    sets = {"development": load(DEVELOPMENT), "held_out": load(HELD_OUT)}
    for name, phrases in sets.items():
        result = score(detector.is_opt_out, phrases)
        print(
            f"{name}: {len(phrases)} phrases ({result.positives} opt-outs): caught "
            f"{result.caught}, false alarms {result.false_alarms} of {result.negatives}"
        )
        for phrase in phrases:
            if detector.is_opt_out(phrase.text) is not phrase.opt_out:
                print(f"  wrong ({'missed' if phrase.opt_out else 'false alarm'}): {phrase.text}")
    everything = sets["development"] + sets["held_out"]
    started = time.perf_counter()
    for phrase in everything:
        detector.is_opt_out(phrase.text)
    per_phrase_us = (time.perf_counter() - started) / len(everything) * 1e6
    total = score(detector.is_opt_out, everything)
    held = score(detector.is_opt_out, sets["held_out"])
    print_result(
        "intent",
        phrases=len(everything),
        recall=round(total.recall, 3),
        false_positive_rate=round(total.false_positive_rate, 3),
        held_out_recall=round(held.recall, 3),
        held_out_false_positive_rate=round(held.false_positive_rate, 3),
        us_per_phrase=round(per_phrase_us, 1),
    )


if __name__ == "__main__":
    parser(__doc__.splitlines()[0]).parse_args()
    main()
