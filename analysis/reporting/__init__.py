"""Report writers: the reader-facing pages built from a run's tidy tables.

Two pages, one set of answers:

- the self-contained HTML report of a run directory (:func:`build_report`, command
  ``python -m analysis.report``): finds and classifies the tidy tables
  (:func:`discover_tables`), runs the analyses they allow, writes figures and
  analysis tables, and the page;
- ``docs/RESULTS.md`` of a study (:func:`write_results`, command
  ``python -m analysis.results``): one Markdown section per question, every number
  computed from the tables, the tables committed beside it (:data:`TRACE_TABLES`).

Both open with the five answers and their caveats of :mod:`analysis.summary`
(re-exported here). Figures come from :mod:`analysis.figures`.

Private modules: ``_tables`` (inputs of the report), ``_html`` (the page),
``_report`` (the builder), ``_markdown`` (Markdown helpers), ``_literature``
(quoted reference points), ``_sections_model`` (sections 1-3: alignment, probes,
control), ``_sections_transfer`` (4-9: transfer, explanation, Mantel, few-shot,
recommender, attribution), ``_sections_review`` (10-11: comparison with published
numbers, data gaps), ``_sections_provenance`` (12: models, stores, run time) and
``_results`` (the Markdown page).

``analysis.summary`` stays a module of :mod:`analysis` (not of this package):
:mod:`analysis.figures` reads its conventions (settings metrics, headline
coefficients), and this package draws with :mod:`analysis.figures`, so keeping it
here would make the two packages import each other.

Examples
--------
>>> from analysis.reporting import md_table
>>> import pandas as pd
>>> print(md_table(pd.DataFrame({"task": ["pos"], "accuracy": [0.91]})), end="")
| task | accuracy |
|---|---|
| pos | 0.910 |
"""

from analysis.reporting._literature import REFERENCE_ZERO_SHOT
from analysis.reporting._markdown import MAX_FIGURE_BYTES, md_table
from analysis.reporting._report import PRIMARY_METRICS, ReportConfig, build_report
from analysis.reporting._results import TRACE_TABLES, check_run_has_model, write_results
from analysis.reporting._sections_provenance import BUDGET_SECONDS
from analysis.reporting._tables import TABLE_KINDS, discover_tables
from analysis.summary import QUESTIONS, Answer, caveats, five_answers, task_chance, zero_shot_levels

__all__ = [
    "ReportConfig",
    "build_report",
    "discover_tables",
    "TABLE_KINDS",
    "PRIMARY_METRICS",
    "write_results",
    "check_run_has_model",
    "md_table",
    "TRACE_TABLES",
    "REFERENCE_ZERO_SHOT",
    "BUDGET_SECONDS",
    "MAX_FIGURE_BYTES",
    "QUESTIONS",
    "Answer",
    "five_answers",
    "caveats",
    "task_chance",
    "zero_shot_levels",
]
