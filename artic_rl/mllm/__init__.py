"""artic_rl.mllm: MLLM accuracy models, judges and the DeViBench harness.

The simulator's contract (docs/ARCHITECTURE.md): ``Question``, ``AccuracyModel``,
``load_accuracy_model(name)``.
"""

from artic_rl.mllm.accuracy import (
    CATEGORIES,
    AccuracyModel,
    CurveAccuracyModel,
    Question,
    load_accuracy_model,
)

__all__ = ["CATEGORIES", "AccuracyModel", "CurveAccuracyModel", "Question", "load_accuracy_model"]
