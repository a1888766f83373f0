"""The HTML report: self-contained, every figure decodes, provenance and configs included."""

from __future__ import annotations

import base64
import io
import subprocess
from html.parser import HTMLParser

import matplotlib.image as mpimg
import pandas as pd
import pytest

from analysis.report import discover_tables, main
from crossling.cli import run_main
from crossling.errors import ConfigError
from crossling.io import sha256_file
from crossling.tables import read_table


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.tags, self.headings, self._h = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag in ("h2", "h3"):
            self._h = ""

    def handle_data(self, data):
        if self._h is not None:
            self._h += data

    def handle_endtag(self, tag):
        if tag in ("h2", "h3") and self._h is not None:
            self.headings.append(self._h)
            self._h = None


@pytest.fixture(scope="module")
def report(sim, tmp_path_factory):
    run = sim.make_run(tmp_path_factory.mktemp("run"))
    code = run_main(main, ["--run", str(run), "--permutations", "49", "--no-mixed", "--title", "Sim run"])
    assert code == 0
    return run, (run / "report.html").read_text(encoding="utf-8")


def test_every_image_is_an_embedded_png(report):
    run, page = report
    p = _Collect()
    p.feed(page)
    assert len(p.imgs) >= 10
    for img in p.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        arr = mpimg.imread(io.BytesIO(raw), format="png")
        assert arr.shape[0] > 100 and arr.shape[1] > 100
        assert img.get("alt")
    # self-contained: nothing is fetched from elsewhere
    for tag, attrs in p.tags:
        assert tag not in ("link", "iframe")
        assert not (tag == "script" and "src" in attrs)


def test_sections_provenance_and_configs(report):
    run, page = report
    p = _Collect()
    p.feed(page)
    order = ["Summary: five questions", "1. How aligned are the languages inside the model?",
             "2. Where do syntax and morphology live? (probes)", "3. How well does transfer work?",
             "Few-shot learning curves", "4. What explains transfer?", "What explains transfer: xnli",
             "What explains transfer: pooled", "5. Which source language to pick?",
             "6. Alignment, typology and transfer (Mantel tests)", "Provenance", "Resolved configurations and manifests"]
    for h in order:
        assert h in p.headings, h
    # the summary comes first, provenance and configs last, in that order
    assert [p.headings.index(h) for h in order] == sorted(p.headings.index(h) for h in order)
    assert p.headings[0] == "Summary: five questions"
    assert "Sim run" in page and "sim-model" in page
    assert sha256_file(run / "transfer" / "transfer.parquet") in page
    assert "<td>tasks</td>" in page and "<td>xnli, pawsx</td>" in page  # the run's own config, as a table
    assert "<pre>" not in page and '"permutations": 49' not in page  # no raw config dumps
    assert "skipped" not in page
    assert "NDCG" in page and "Mantel" in page


def test_summary_answers_each_question_with_a_number_and_a_link(report):
    _, page = report
    summary = page[page.index('<section id="summary">'):page.index("</section>")]
    assert summary.count("<li><b>") == 5
    for anchor in ("alignment", "probes", "transfer", "explain", "source"):
        assert f'href="#{anchor}"' in summary and f'id="{anchor}"' in page
    assert "Not answered" not in summary
    assert summary.count("evidence") == 5 and any(ch.isdigit() for ch in summary)
    assert "not mT5" in summary  # the caveat sits beside the answers


def test_pvalues_name_their_method_and_settings_are_not_results(sim, tmp_path):
    run = sim.make_run(tmp_path / "r")
    pr = read_table(run / "probes" / "probes.parquet")
    from crossling.tables import write_table

    write_table(pd.concat([pr, pr.assign(metric="C", value=10.0)], ignore_index=True), run / "probes" / "probes")
    assert run_main(main, ["--run", str(run), "--permutations", "19", "--no-mixed", "--tasks", "xnli"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "Probe C" not in page and not (run / "analysis" / "figures" / "probe_layers_C.png").exists()
    assert "<td>C</td>" not in page
    coef_table = page[page.index("Coefficients (per SD of each feature)."):]
    assert "<th>method</th>" in coef_table[:3000]


def test_analysis_tables_and_figures_are_written(report):
    run, _ = report
    coef = read_table(run / "analysis" / "coefficients_xnli.parquet")
    need = {"fit", "model", "task", "term", "beta", "se", "ci_low", "ci_high", "p", "n", "converged"}
    assert need <= set(coef.columns)
    mt = read_table(run / "analysis" / "mantel.csv")
    assert {"partial", "mantel"} == set(mt["test"])  # data-size control found (log_tokens_*)
    assert (run / "analysis" / "figures" / "mantel_by_layer.pdf").is_file()
    assert (run / "analysis" / "report.config.yaml").is_file()
    assert read_table(run / "analysis" / "mantel_typology_transfer.parquet")["right"].nunique() == 2
    # the report's own outputs are not re-read as inputs
    assert not discover_tables(run)["path"].str.startswith("analysis").any()


def test_missing_tables_become_notes(sim, tmp_path):
    run = sim.make_run(tmp_path / "r", with_features=False)
    assert run_main(main, ["--run", str(run), "--permutations", "19", "--no-mixed"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "No pair-feature table" in page and "Few-shot learning curves" in page


def test_cli_errors(tmp_path, capsys):
    assert run_main(main, ["--run", str(tmp_path / "absent")]) == 2
    (tmp_path / "empty").mkdir()
    assert run_main(main, ["--run", str(tmp_path / "empty")]) == 3
    assert "No tidy table" in capsys.readouterr().err


def test_renders_in_headless_chromium_as_a_reader_sees_it(report, chromium):
    """Every image decodes in the browser, nothing is wider than the window, the summary is on the first screen."""
    from analysis.render_check import check_render

    run, _ = report
    c = check_render(run / "report.html")
    assert c.images >= 10 and c.broken == []
    assert c.fits_width, (c.scroll_width, c.viewport_width, c.overflowing)
    assert c.summary_top is not None and c.summary_on_first_screen, (c.summary_bottom, c.viewport_height)


def test_figures_are_under_the_size_budget(report):
    from crossling.plotstyle import MAX_PNG_BYTES

    run, _ = report
    pngs = list((run / "analysis" / "figures").glob("*.png"))
    assert len(pngs) >= 10
    for png in pngs:
        assert png.stat().st_size <= MAX_PNG_BYTES, png.name


def test_selection_resolves_several_metrics_and_layers(sim):
    from analysis.report import ReportConfig
    from analysis.reporting._report import _selection

    tr, _, _ = sim.simulate()
    many = pd.concat([tr, tr.assign(metric="f1"), tr.assign(layer=6)], ignore_index=True)
    out, notes = _selection(many, ReportConfig(run="."))
    assert set(out["metric"]) == {"accuracy"} and set(out["layer"]) == {12}
    assert any("metric 'accuracy'" in n for n in notes) and any("--layer" in n for n in notes)
    out2, notes2 = _selection(many, ReportConfig(run=".", metric="f1", layer="12"))
    assert set(out2["metric"]) == {"f1"} and not notes2
    with pytest.raises(ConfigError, match="--metric 'bleu'"):
        _selection(many, ReportConfig(run=".", metric="bleu"))


@pytest.mark.slow
@pytest.mark.integration
def test_report_on_tables_from_the_real_producers(data_dir, tmp_path):
    """transfer.run (synthetic features, real XNLI labels) + analysis.typology (real URIEL/mC4) -> report."""
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    langs = "ar,de,en,es,fr"
    env = {"CROSSLING_DATA": str(data_dir), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}
    subprocess.run([sys.executable, "-m", "transfer.run", "--tasks", "nli", "--langs", langs, "--shots", "0,10,100",
                    "--seeds", "0", "--features", "synthetic", "--layer", "last", "--backend", "serial",
                    "--no-progress", "--set", "test_cap=200", "--out", str(tmp_path / "transfer")],
                   check=True, cwd=repo, env=env, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "analysis.typology", "--langs", langs, "--sources", "uriel,mc4",
                    "--out", str(tmp_path / "typology")], check=True, cwd=repo, env=env, capture_output=True,
                   timeout=300)
    assert run_main(main, ["--run", str(tmp_path), "--permutations", "49", "--no-mixed"]) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    p = _Collect()
    p.feed(page)
    assert "What explains transfer: nli" in p.headings and len(p.imgs) >= 4
    coef = read_table(tmp_path / "analysis" / "coefficients_nli.parquet")
    assert "uriel_syntax" in set(coef["term"]) and coef["n"].iloc[0] == 20  # 5 languages -> 20 ordered pairs


def test_saved_config_is_resolved(report):
    """The config saved beside the report names the page it wrote (no null output path)."""
    import yaml

    run, _ = report
    saved = yaml.safe_load((run / "analysis" / "report.config.yaml").read_text())
    assert saved["out"] == str(run / "report.html") and saved["run"] == str(run)


def test_a_second_regime_gets_the_regime_comparison(sim, tmp_path):
    """A run with head and finetune tables: the main analysis stays on head; the regimes are compared."""
    from crossling.tables import write_table

    run = sim.make_run(tmp_path / "r")
    tr = read_table(run / "transfer" / "transfer.parquet")
    tr["regime"] = tr["regime"].replace({"zero-shot": "head", "few-shot": "head"})
    write_table(tr, run / "transfer" / "transfer")
    ft = tr[tr["k"] == 0].assign(regime="finetune", layer="last")
    ft["value"] = ft["value"] + 0.05
    (run / "transfer-finetune").mkdir()
    write_table(ft, run / "transfer-finetune" / "transfer")
    assert run_main(main, ["--run", str(run), "--permutations", "19", "--no-mixed", "--tasks", "xnli"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "Does the explanation depend on the regime?" in page
    assert "task xnli: regime &#x27;head&#x27;" in page  # the selection note: head is the main analysis
    reg = read_table(run / "analysis" / "regimes.parquet")
    assert list(dict.fromkeys(reg["regime"])) == ["head", "finetune"]
    lv = reg[reg["quantity"] == "zero_shot"].set_index("regime")["value"]
    assert lv["finetune"] - lv["head"] == pytest.approx(0.05, abs=1e-9)
    # a shifted copy ranks the pairs identically
    assert reg[reg["quantity"] == "rank_agreement"]["value"].iloc[0] == pytest.approx(1.0)
    assert {"typology_beyond_lexical", "alignment_best_layer"} <= set(reg["quantity"])
    v = read_table(run / "analysis" / "regime_verdicts.parquet")
    assert v.loc[v["head"] != "n/a", "same"].all()
