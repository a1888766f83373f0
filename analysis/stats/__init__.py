"""Statistical models of cross-lingual transfer on pair features.

Public surface of the statistics layer (implementation in private modules):

- :func:`select_transfer`, :func:`features_wide`, :func:`pair_design`: shape the
  tidy tables (transfer, pair features) into one row per (task, src, tgt).
- :func:`fit_ols` (cluster-robust), :func:`fit_mixed` (crossed random effects
  for source and target): coefficient tables, R², AIC.
- :func:`compare_feature_sets` (lexical vs syntax+morphology+phonology vs all,
  likelihood-ratio tests, LOLO CV error), :func:`vif_table`,
  :func:`best_subsets`, :func:`lolo_cv`.
- :func:`explain_transfer`: all of the above for one selection, as labelled
  tidy tables.

- Dyadic permutation inference (issue #15): :func:`permutation_design`,
  :func:`qap_coefficients` (MRQAP with double semi-partialling),
  :func:`set_tests` (Freedman-Lane node permutation of feature blocks),
  :func:`compare_lolo` (language-level paired CIs of LOLO error).
- Mantel tests between language x language matrices: :func:`mantel`,
  :func:`partial_mantel`, :func:`mantel_by_layer`, :func:`mantel_pairs`,
  :func:`bh_fdr`.
- Regimes side by side (issue #16): :func:`compare_regimes` (levels, set
  tests and alignment Mantel tests per transfer regime), :func:`regime_verdicts`.
- The few-shot law ``score = a + b log(k + c)``: :func:`fit_law`,
  :func:`fit_laws`, :func:`k_for_score`, :func:`extrapolation_error`.

Layout (private modules behind this surface): ``_frames`` shaping lives in
:mod:`analysis._frames`; ``_models`` (OLS, mixed, LOLO, VIF, best subsets),
``_inference`` and ``_qap`` (permutation tests), ``_explain``
(:func:`explain_transfer`), ``_mantel``, ``_fewshot``. Formulas and
conventions: docs/analysis.md; test calibration: docs/calibration.md.
"""

from __future__ import annotations

from analysis._frames import features_wide, offdiag_pairs, pair_design, select_transfer, square_matrix
from analysis.stats._explain import (
    METHOD_MODEL,
    MIN_COVERAGE,
    default_predictors,
    explain_transfer,
    feature_coverage,
    lolo_predictions,
    select_features,
    transfer_matrix,
)
from analysis.stats._fewshot import (
    FewShotLaw,
    extrapolation_error,
    extrapolation_k,
    fit_law,
    fit_laws,
    k_for_score,
    law_predict,
)
from analysis.stats._inference import (
    METHOD_FREEDMAN_LANE,
    METHOD_FREEDMAN_LANE_FE,
    METHOD_LR,
    METHOD_MRQAP,
    METHOD_MRQAP_FE,
    PermutationDesign,
    compare_lolo,
    default_set_groups,
    language_effects,
    pair_level,
    permutation_design,
    qap_coefficients,
    set_tests,
)
from analysis.stats._mantel import (
    MantelResult,
    align_matrices,
    bh_fdr,
    mantel,
    mantel_by_layer,
    mantel_pairs,
    partial_mantel,
)
from analysis.stats._models import (
    COEF_COLUMNS,
    FIT_KINDS,
    TransferFit,
    best_subsets,
    compare_feature_sets,
    default_feature_groups,
    fit_mixed,
    fit_ols,
    fit_transfer,
    lolo_cv,
    lolo_folds,
    vif_table,
)
from analysis.stats._regimes import (
    REGIME_COLUMNS,
    REGIME_QUESTIONS,
    compare_regimes,
    regime_cells,
    regime_verdicts,
)

__all__ = [
    "COEF_COLUMNS",
    "FIT_KINDS",
    "METHOD_FREEDMAN_LANE",
    "METHOD_FREEDMAN_LANE_FE",
    "METHOD_LR",
    "METHOD_MODEL",
    "METHOD_MRQAP",
    "METHOD_MRQAP_FE",
    "MIN_COVERAGE",
    "align_matrices",
    "best_subsets",
    "bh_fdr",
    "compare_feature_sets",
    "compare_lolo",
    "compare_regimes",
    "regime_cells",
    "REGIME_COLUMNS",
    "REGIME_QUESTIONS",
    "regime_verdicts",
    "default_feature_groups",
    "default_predictors",
    "default_set_groups",
    "explain_transfer",
    "extrapolation_error",
    "extrapolation_k",
    "feature_coverage",
    "features_wide",
    "FewShotLaw",
    "fit_law",
    "fit_laws",
    "fit_mixed",
    "fit_ols",
    "fit_transfer",
    "k_for_score",
    "law_predict",
    "language_effects",
    "lolo_cv",
    "lolo_folds",
    "lolo_predictions",
    "mantel",
    "mantel_by_layer",
    "mantel_pairs",
    "MantelResult",
    "offdiag_pairs",
    "pair_design",
    "pair_level",
    "partial_mantel",
    "permutation_design",
    "PermutationDesign",
    "qap_coefficients",
    "select_features",
    "select_transfer",
    "set_tests",
    "square_matrix",
    "transfer_matrix",
    "TransferFit",
    "vif_table",
]
