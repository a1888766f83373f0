"""Paired pilot: MRQAP/Freedman-Lane with and without source/target effects as nuisance (docs/analysis.md).

Usage::

    python bench/calibration_pilot_fe.py SCENARIO N_LANGS REPS SEED   # e.g. src_tgt 10 300 7
"""
import sys, numpy as np, pandas as pd
from analysis.stats._qap import freedman_lane, mrqap_dsp
from analysis.stats._inference import _zdesign, permutation_design
from analysis.calibrate import GROUPS, simulate_table

def fe(d):
    S = pd.get_dummies(d["src"]).to_numpy(float)[:, 1:]
    T = pd.get_dummies(d["tgt"]).to_numpy(float)[:, 1:]
    return np.hstack([S, T])

sc, n, reps, seed = sys.argv[1:5]
rng = np.random.default_rng(int(seed))
res = {}
for _ in range(int(reps)):
    d = simulate_table([f"l{i}" for i in range(int(n))], sc, rng)
    pdz = permutation_design(d, permutations=199, seed=rng)
    X = _zdesign(pdz.data, GROUPS["all"])
    y = pdz.data["score"].to_numpy()
    N = fe(pdz.data)
    for use_fe in (False, True):
        suf = "fe" if use_fe else "plain"
        pair = ["const", "lex_dist", "syntax_dist", "morph_dist"]
        Xm = X[pair].to_numpy(float) if use_fe else X.to_numpy(float)
        Xfull = np.hstack([Xm, N]) if use_fe else Xm
        cols = [pair.index("syntax_dist"), pair.index("lex_dist")] if use_fe else [X.columns.get_loc("syntax_dist"), X.columns.get_loc("lex_dist")]
        _, p = mrqap_dsp(y, Xfull, pdz.maps, cols)
        res.setdefault(f"syn_dsp_{suf}", []).append(p[0]); res.setdefault(f"lex_dsp_{suf}", []).append(p[1])
        red = X[["const", "lex_dist"]].to_numpy(float)
        red = np.hstack([red, N]) if use_fe else red
        _, p1, _ = freedman_lane(y, red, X[["syntax_dist", "morph_dist"]].to_numpy(float), pdz.maps)
        res.setdefault(f"typ|lex_{suf}", []).append(p1)
print(sc, n, reps, seed, {k: round(float(np.mean(np.asarray(v) <= 0.05)), 3) for k, v in res.items()}, flush=True)
