"""Speed of the pair-feature sources, and of the bit-parallel edit distance against the textbook one.

The edit-distance comparison runs both implementations on the same word pairs
(every LDN and LDND comparison of the real PanLex Swadesh lists of the chosen
languages) in the same process, so the ratio holds on a loaded machine where
absolute times do not. Target: ratio (Myers / dynamic programme) <= 0.5.
The per-source wall times for the languages are reported for information
(first call, i.e. including file reading).

Usage::

    python bench/bench_typology.py [--data-dir DIR] [--langs en,de,es,...] [--repeat 3]
"""

from __future__ import annotations

import time
from pathlib import Path

from _common import best_time, data_parser

from analysis.features._common import resolve_data_dir
from analysis.features._lexical import _levenshtein_dp, levenshtein
from analysis.typology import DEFAULT_SOURCES, SwadeshLists, lang_codes, pair_features

TARGET_RATIO = 0.5


def main() -> int:
    ap = data_parser(__doc__.splitlines()[0], "en,de,es,fr,it,ru,ar,hi,tr,zh,ja")
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    langs = [x for x in args.langs.split(",") if x]

    lists = SwadeshLists(Path(data_dir) / "typology" / "panlex_swadesh.zip")
    words = {}
    for lang in langs:
        uid = lists.variety(lang_codes(lang).iso3) or lists.variety(lang_codes(lang).individual)
        if uid:
            words[lang] = [w for syn in lists.words(uid) for w in syn[:1]]
    pairs = [(x, y) for a in words for b in words if a < b for x in words[a] for y in words[b][:20]]
    base = best_time(lambda: [_levenshtein_dp(x, y) for x, y in pairs], args.repeat)
    ours = best_time(lambda: [levenshtein(x, y) for x, y in pairs], args.repeat)
    print(f"edit distance on {len(pairs)} real Swadesh word pairs ({len(words)} languages), best of {args.repeat}:")
    print("| implementation | time (s) | per pair (us) |")
    print("| --- | --- | --- |")
    print(f"| dynamic programme (baseline) | {base:.3f} | {1e6 * base / len(pairs):.1f} |")
    print(f"| Myers bit-parallel (levenshtein) | {ours:.3f} | {1e6 * ours / len(pairs):.1f} |")
    ratio = ours / base
    print(f"ratio = {ratio:.2f} (target <= {TARGET_RATIO}): {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    print()
    print(f"pair features for {len(langs)} languages ({len(langs) * (len(langs) - 1)} ordered pairs), first call:")
    print("| source | rows | missing | time (s) |")
    print("| --- | --- | --- | --- |")
    for src in DEFAULT_SOURCES:
        t = time.perf_counter()
        df = pair_features(langs, sources=[src], data_dir=data_dir)
        dt = time.perf_counter() - t
        print(f"| {src} | {len(df)} | {int(df['value'].isna().sum())} | {dt:.1f} |")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
