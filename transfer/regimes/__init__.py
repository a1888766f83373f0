"""Training regimes: how a batch of (task, source, seed) cells is computed.

Every regime is registered in :data:`REGIMES` and has ``run_batch(batch,
store)``; a config names one with ``regime:`` (or ``module:Class`` for a
regime of your own).

========================  =================================================================
module                    what it holds
========================  =================================================================
``_base``                 the registry, :func:`run_batch` (what workers call), scoring and
                          the tidy rows of a cell, shared by every regime
:mod:`.head`              ``head``: frozen encoder, classifier head on stored features,
                          few-shot continuation of the head
:mod:`.finetune`          ``finetune``: the encoder is fine-tuned with a task head (all of
                          it, or only its top N blocks over cached lower-layer states)
``_model``                :class:`TaskModel`, the fine-tuned encoder + head (full or top-N)
========================  =================================================================
"""

from transfer.regimes._base import (
    REGIMES,
    cell_rows,
    error_text,
    evaluate_predictions,
    run_batch,
    score,
    source_examples,
)
from transfer.regimes.finetune import FINETUNE_DEFAULTS, FinetuneData, FinetuneRegime, check_options
from transfer.regimes.head import SHOT_BLOCK, HeadRegime, shot_stats
from transfer.regimes._model import TaskModel, train_schedule

__all__ = ["REGIMES", "run_batch", "evaluate_predictions", "source_examples", "cell_rows", "error_text", "score",
           "HeadRegime", "shot_stats", "SHOT_BLOCK", "FinetuneRegime", "FinetuneData", "FINETUNE_DEFAULTS",
           "check_options", "TaskModel", "train_schedule"]
