"""Paired pilot of the headline permutation tests' size on one null (docs/analysis.md cites it).

For each simulated table (analysis.calibrate.simulate_table) the same node permutations feed:
the MRQAP (DSP) coefficient test of syntax_dist and lex_dist, the single-coefficient
Freedman-Lane test of each, and the Freedman-Lane block tests typology|lexical and
lexical|typology, each with the classical and the dyadic-robust statistic. Prints the
rejection rates at 0.05.

Usage::

    python bench/calibration_pilot.py SCENARIO N_LANGS REPS SEED   # e.g. both_pair 10 500 22
"""

from __future__ import annotations

import sys

import numpy as np

from analysis.stats._qap import freedman_lane, mrqap_dsp
from analysis.stats._inference import _zdesign, permutation_design
from analysis.calibrate import GROUPS, simulate_table


def main(argv=None) -> int:
    sc, n, reps, seed = (argv or sys.argv[1:])[:4]
    rng = np.random.default_rng(int(seed))
    res: dict[str, list[float]] = {}
    for _ in range(int(reps)):
        d = simulate_table([f"l{i}" for i in range(int(n))], sc, rng)
        pdz = permutation_design(d, permutations=99, seed=rng)
        X = _zdesign(pdz.data, GROUPS["all"])
        y = pdz.data["score"].to_numpy()
        cols = [X.columns.get_loc("syntax_dist"), X.columns.get_loc("lex_dist")]
        for g, suf in ((None, "classical"), (pdz.groups, "robust")):
            _, p = mrqap_dsp(y, X.to_numpy(float), pdz.maps, cols, groups=g)
            res.setdefault(f"syntax_dsp_{suf}", []).append(p[0])
            res.setdefault(f"lex_dsp_{suf}", []).append(p[1])
            for f in ("syntax_dist", "lex_dist"):
                others = [c for c in X.columns if c != f]
                _, pf, _ = freedman_lane(y, X[others].to_numpy(float), X[[f]].to_numpy(float), pdz.maps, groups=g)
                res.setdefault(f"{f.split('_')[0]}_fl_{suf}", []).append(pf)
            _, p1, _ = freedman_lane(y, X[["const", "lex_dist"]].to_numpy(float),
                                     X[["syntax_dist", "morph_dist"]].to_numpy(float), pdz.maps, groups=g)
            _, p2, _ = freedman_lane(y, X[["const", "syntax_dist", "morph_dist"]].to_numpy(float),
                                     X[["lex_dist"]].to_numpy(float), pdz.maps, groups=g)
            res.setdefault(f"typology_over_lexical_{suf}", []).append(p1)
            res.setdefault(f"lexical_over_typology_{suf}", []).append(p2)
    print(sc, n, reps, seed, {k: round(float(np.mean(np.asarray(v) <= 0.05)), 3) for k, v in res.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
