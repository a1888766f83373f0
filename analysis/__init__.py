"""The "why" of transfer: pair features, statistics, the recommender, figures and the report.

Analysis reads tidy tables on disk (transfer, alignment, probe and pair-feature
tables; columns in :mod:`crossling.schemas`), never model objects. Its parts:

- :mod:`analysis.features` -- pair features of languages (URIEL, Grambank, UD
  morphology, PanLex Swadesh, subword overlap, mC4 size, the model's own
  alignment and probe transfer); command line :mod:`analysis.typology`.
- :mod:`analysis.stats` -- models of transfer on those features (OLS, mixed
  model, LOLO prediction of unseen languages), dyadic permutation inference
  (MRQAP, Freedman-Lane), Mantel tests, the few-shot law.
- :mod:`analysis.calibrate` -- size and power of every test by simulation.
- :mod:`analysis.recommend` -- a source-language recommender with NDCG@k.
- :mod:`analysis.figures`, :mod:`analysis.reporting` -- figures, the HTML
  report (:mod:`analysis.report`) and RESULTS.md (:mod:`analysis.results`);
  :mod:`analysis.study` runs the whole pipeline.

The names below are imported on first use (``import analysis`` stays cheap).

Examples
--------
>>> import analysis
>>> round(float(analysis.k_for_score(0.7, a=0.5, b=0.1, c=1.0)), 1)
6.4
"""

from __future__ import annotations

from crossling._lazy import lazy_exports

_EXPORTS = {
    # pair features
    "FEATURE_SOURCES": "analysis.features",
    "DEFAULT_SOURCES": "analysis.features",
    "pair_features": "analysis.features",
    "wide_features": "analysis.features",
    "feature_matrix": "analysis.features",
    # statistics
    "explain_transfer": "analysis.stats",
    "select_transfer": "analysis.stats",
    "features_wide": "analysis.stats",
    "pair_design": "analysis.stats",
    "fit_transfer": "analysis.stats",
    "fit_ols": "analysis.stats",
    "fit_mixed": "analysis.stats",
    "lolo_cv": "analysis.stats",
    "compare_feature_sets": "analysis.stats",
    "permutation_design": "analysis.stats",
    "qap_coefficients": "analysis.stats",
    "set_tests": "analysis.stats",
    "compare_lolo": "analysis.stats",
    "mantel": "analysis.stats",
    "partial_mantel": "analysis.stats",
    "mantel_by_layer": "analysis.stats",
    "fit_law": "analysis.stats",
    "fit_laws": "analysis.stats",
    "k_for_score": "analysis.stats",
    # recommender
    "fit_recommender": "analysis.recommend",
    "evaluate_ranking": "analysis.recommend",
    "RANKERS": "analysis.recommend",
    # figures and reports
    "FIGURES": "analysis.figures",
    "build_report": "analysis.reporting",
    "ReportConfig": "analysis.reporting",
    "write_results": "analysis.reporting",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
