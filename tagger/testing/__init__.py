"""Seeded stand-ins for tests, benchmarks and examples: synthetic signals (silence,
tones, coloured noise, speech-like babble) and a tiny valid model with its card.

Public so that the benchmarks and downstream projects build the same fixtures as the
test suite, without importing ``tests``.
"""

from tagger.testing import media, models, signals

__all__ = ["media", "models", "signals"]
