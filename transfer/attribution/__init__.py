"""Attribution with captum: which hidden units a probe uses, and which input tokens a transfer model uses.

The command line is ``python -m transfer.attribute units|tokens``
(:mod:`transfer.attribute`); this package is the library behind it.

==================  ===================================================================
module              what it holds
==================  ===================================================================
``_config``         :class:`UnitAttributionConfig`, :class:`TokenAttributionConfig`
``_units``          probes on stored activations, unit importance (integrated
                    gradients, feature ablation), top-k overlap and ablation tests
``_grid``           the (layer, task, language) grid of unit attribution and its tables
``_tokens``         token explainers of a head or a fine-tuned model (LayerIntegratedGradients)
``_token_run``      the token attribution run (train on ``src``, explain parallel examples)
``_html``           the token table and its highlighted HTML (no torch)
``_figures``        overlap and ablation figures
==================  ===================================================================

See docs/attribution.md.
"""

from transfer.attribution._config import TokenAttributionConfig, UnitAttributionConfig
from transfer.attribution._figures import (
    plot_ablation_by_layer,
    plot_overlap_by_layer,
    plot_overlap_heatmap,
    write_attribution_figures,
)
from transfer.attribution._grid import (
    ABLATION_COLUMNS,
    OVERLAP_COLUMNS,
    PROBE_COLUMNS,
    UNIT_COLUMNS,
    adjust_pvalues,
    overlap_pair_features,
    run_units,
    unit_attribution_grid,
)
from transfer.attribution._html import TOKEN_COLUMNS, TokenAttribution, render_token_html, token_table
from transfer.attribution._token_run import run_tokens, token_attribution_run
from transfer.attribution._tokens import (
    HEAD_ADAPTERS,
    TokenExplainer,
    explained_word,
    finetune_explainer,
    head_explainer,
    train_finetune_model,
    train_head_model,
)
from transfer.attribution._stats import ablation_test, ablation_tests, jaccard, overlap_tests
from transfer.attribution._units import (
    ATTRIBUTION_METHODS,
    OUTPUTS,
    PROBE_FITTERS,
    TARGETS,
    FittedProbe,
    ProbeData,
    attribute_units,
    fit_probe,
    probe_data_from_store,
    top_k_units,
    unit_importance,
)

from transfer.attribution import _config, _figures, _grid, _html, _stats, _token_run, _tokens, _units

#: The public names of every private module, in reading order.
__all__ = [*_config.__all__, *_grid.__all__, *_token_run.__all__, *_units.__all__, *_stats.__all__,
           *_html.__all__, *_tokens.__all__, *_figures.__all__]
