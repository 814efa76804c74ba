"""Job-duration prediction from what is known at submit time.

Kept out of the scheduling core: policies that use predictions will be handed them, so the
core never depends on scikit-learn.
"""

from corral.predict.evaluate import Evaluation, Scores, evaluate
from corral.predict.online import OnlinePredictor, Prediction

__all__ = ["Evaluation", "OnlinePredictor", "Prediction", "Scores", "evaluate"]
