"""Speed of the validating CoNLL-U reader against the bare ``conllu`` parser, on the real PUD files.

Both runs are measured in the same process, so the ratio holds on a loaded
machine where absolute times do not. The baseline, ``conllu.parse_incr``,
only splits fields: it does no validation and computes no spans or text.
``read_conllu`` does both. Target: ratio <= 1.5.

Usage::

    python bench/bench_conllu.py [--data-dir DIR] [--langs en,fr,zh] [--repeat 3]
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path

import conllu
from _common import best_time, data_parser

from probes.readers.conllu import read_conllu
from probes.readers.corpora import default_data_dir, load_corpus

TARGET_RATIO = 1.5


def main() -> int:
    ap = data_parser(__doc__.splitlines()[0], "en,fr,zh,ja,cs")
    args = ap.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    files = {p.name.split("_")[0]: p for p in (data_dir / "ud").glob("UD_*-PUD/*_pud-ud-test.conllu")}
    langs = [x for x in args.langs.split(",") if x in files]
    print("| file | words | conllu.parse_incr (s) | read_conllu (s) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    tot_base = tot_ours = 0.0
    for lang in langs:
        path = files[lang]
        text = path.read_text(encoding="utf-8")
        base = best_time(lambda text=text: list(conllu.parse_incr(io.StringIO(text))), args.repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = best_time(lambda path=path: read_conllu(path), args.repeat)
        n = sum(len(s.words) for s in read_conllu(path))
        tot_base += base
        tot_ours += ours
        print(f"| {path.name} | {n} | {base:.3f} | {ours:.3f} | {ours / base:.2f} |")
    ratio = tot_ours / tot_base
    print(f"| total | | {tot_base:.3f} | {tot_ours:.3f} | {ratio:.2f} |")
    t = time.perf_counter()
    c = load_corpus("pud", data_dir=data_dir)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    c.fingerprint()
    t_fp = time.perf_counter() - t
    print(f"\nload_corpus('pud'), {len(c.langs)} languages x {len(c.sent_ids())} sentences: {t_load:.2f} s "
          f"(+ fingerprint {t_fp:.2f} s)")
    print(f"ratio {ratio:.2f} {'<=' if ratio <= TARGET_RATIO else '>'} target {TARGET_RATIO}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
