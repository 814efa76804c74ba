"""Job-duration prediction from what is known at submit time.

Kept out of the scheduling core: policies that use predictions will be handed them, so the
core never depends on scikit-learn.
"""

from corral.extras import require

require("predict", "Duration prediction", "sklearn", "threadpoolctl")

from corral.predict.evaluate import Evaluation, Scores, evaluate  # noqa: E402 (after the check)
from corral.predict.online import OnlinePredictor, Prediction  # noqa: E402

__all__ = ["Evaluation", "OnlinePredictor", "Prediction", "Scores", "evaluate"]
