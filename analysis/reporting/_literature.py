"""Published reference points quoted (never computed) in ``docs/RESULTS.md``, each with its source."""

from __future__ import annotations

__all__ = ["REFERENCE_ZERO_SHOT", "REFERENCE_SOURCES", "MULLER_2022", "LIT_ALIGNMENT", "LIT_PROBES", "LIT_CROSS",
           "LIT_CONTROL"]

#: The reference result of the mission (Muller et al., 2022), as the report quotes it.
MULLER_2022 = ("Muller et al. (2022, on mT5, 90 language pairs, three tasks) report that a few features "
               "predict transfer, that syntax, morphology and phonology similarity predict it better than "
               "lexical similarity, and that zero-shot scores rise log-linearly with the number of few-shot "
               "target examples.")

#: Zero-shot cross-lingual scores from English after full fine-tuning, in percent, averaged over each
#: benchmark's own target languages. mBERT and XLM-R (large): XTREME, Hu et al. (2020), Table 2.
#: mT5: Xue et al. (2021), Table 2 (also in the google-research/multilingual-t5 README). NER is WikiAnn
#: F1, NLI is XNLI accuracy; the mT5 paper reports no POS score.
REFERENCE_ZERO_SHOT: dict[str, dict[str, float]] = {
    "pos": {"mBERT": 70.3, "XLM-R large": 72.6},
    "ner": {"mBERT": 62.2, "XLM-R large": 65.4, "mT5-small": 50.5, "mT5-base": 55.7},
    "nli": {"mBERT": 65.4, "XLM-R large": 79.2, "mT5-small": 67.5, "mT5-base": 75.4},
}
#: Where each number of :data:`REFERENCE_ZERO_SHOT` comes from.
REFERENCE_SOURCES = ("mBERT and XLM-R large: XTREME (Hu et al., 2020, Table 2); mT5-small/base: the mT5 paper "
                     "(Xue et al., 2021, Table 2). These are zero-shot scores from English after fine-tuning the "
                     "whole model on the full English training set, averaged over each benchmark's own target "
                     "languages (NER: WikiAnn F1; NLI: XNLI accuracy; the mT5 paper has no POS score). The numbers "
                     "of this run come from a frozen encoder with a linear head trained on a capped training set "
                     "and are averaged over this run's targets, so only the ordering of tasks is comparable, not "
                     "the levels.")

#: Published findings on cross-lingual alignment inside multilingual encoders.
LIT_ALIGNMENT = ("Muller et al. (2021, \"First Align, then Predict\", EACL) find that in mBERT the similarity of "
                 "the representations of parallel sentences rises through the lower layers and falls again in the "
                 "last ones; Del & Fishel (2021) show that such layer profiles depend on the similarity index and "
                 "the pooling, which is why this run reports several indexes side by side.")
#: Published findings on where probes find syntax across layers.
LIT_PROBES = ("For BERT, Tenney et al. (2019, \"BERT Rediscovers the Classical NLP Pipeline\") find part-of-speech "
              "information in lower layers than syntactic dependencies, and Hewitt & Manning (2019, structural "
              "probes) recover parse-tree distances and depths best from the middle layers.")
#: Published findings on cross-lingual probe transfer.
LIT_CROSS = ("Chi et al. (2020, \"Finding Universal Grammatical Relations in Multilingual BERT\") find syntactic "
             "subspaces shared across languages in mBERT, so that probes trained on one language transfer to "
             "others; Pires et al. (2019) find that mBERT's zero-shot transfer works across scripts and best "
             "between typologically similar languages.")
#: Published findings on random-encoder probing baselines.
LIT_CONTROL = ("Randomly initialised, frozen encoders are known to be strong probing baselines (Zhang & Bowman, "
               "2018, for LSTMs), which is why probe scores are read against the random-initialised control, the "
               "control tasks (selectivity, Hewitt & Liang, 2019) and the MDL codelength (Voita & Titov, 2020).")

