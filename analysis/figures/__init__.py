"""Figures: one function per figure, each reading tidy tables and writing PNG + PDF.

Every function is registered in :data:`FIGURES` by name and returns the
``(png, pdf)`` paths it wrote. No model code is imported here. Every figure
follows :mod:`crossling.plotstyle` (the style shared by every package): model and
data size stamped on the canvas, fixed colour scales, one language order,
colour-blind-safe palette, small multiples, legends inside the axes, PNGs under
a size budget.

=========================  ==========================================  =========================================
name                       function                                    reads
=========================  ==========================================  =========================================
``coefficients``           :func:`coefficient_plot`                    coefficient table
``observed_vs_predicted``  :func:`observed_vs_predicted`               predictions table
``alignment_layers``       :func:`alignment_by_layer`                  alignment table(s), model and control
``alignment_heatmap``      :func:`alignment_heatmap`                   alignment table
``typology_alignment``     :func:`typology_alignment_scatter`          alignment + pair-feature (+ Mantel) tables
``mantel_by_layer``        :func:`mantel_by_layer_plot`                Mantel table
``transfer_matrix``        :func:`transfer_matrix_plot`                transfer table
``fewshot_curves``         :func:`fewshot_curves`                      transfer table (+ laws)
``probe_layers``           :func:`probe_accuracy_by_layer`             probe table
=========================  ==========================================  =========================================
"""

from analysis.figures._common import FIGURES, control_label, data_label, model_label, save_figure
from analysis.figures.alignment import (
    alignment_by_layer,
    alignment_heatmap,
    mantel_by_layer_plot,
    typology_alignment_scatter,
)
from analysis.figures.coefficients import coefficient_plot
from analysis.figures.observed import observed_vs_predicted
from analysis.figures.probe_layers import probe_accuracy_by_layer
from analysis.figures.transfer import MIN_K_FOR_LAW, fewshot_curves, transfer_matrix_plot

__all__ = [
    "FIGURES",
    "save_figure",
    "data_label",
    "control_label",
    "model_label",
    "MIN_K_FOR_LAW",
    "coefficient_plot",
    "observed_vs_predicted",
    "alignment_by_layer",
    "alignment_heatmap",
    "typology_alignment_scatter",
    "mantel_by_layer_plot",
    "transfer_matrix_plot",
    "fewshot_curves",
    "probe_accuracy_by_layer",
]
