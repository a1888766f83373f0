"""Speed of the validating XTREME token-file reader against XTREME's own minimal reader, on real files.

Both are measured in the same process (best of ``--repeat``), so the ratio
holds on a loaded machine where absolute times do not. The baseline is the
loop of XTREME's ``read_examples_from_file`` (third_party/utils_tag.py):
split lines, collect ``(words, labels)`` lists per sentence -- no
validation, no spans, no records. ``probes.readers.xtreme.read_token_file``
validates every line and builds ``Sentence``/``Word`` records with character
spans. A third column shows the same reader with the garbage collector left
running, which is what the reader's GC pause saves. Target: ratio <= 4.

Usage::

    python bench/bench_xtreme.py [--data-dir DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from probes.datasets import default_data_dir
from probes.readers.xtreme import _gc_paused, read_token_file, xtreme_path

TARGET_RATIO = 4.0
FILES = (("udpos", "train", "en"), ("udpos", "train", "zh"), ("panx", "train", "en"), ("panx", "train", "ja"))


def xtreme_baseline(path: Path) -> list[tuple[list[str], list[str]]]:
    """XTREME's reader loop: words and labels per sentence, nothing checked."""
    examples = []
    words: list[str] = []
    labels: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("-DOCSTART-") or line == "" or line == "\n":
                if words:
                    examples.append((words, labels))
                    words, labels = [], []
            else:
                splits = line.split("\t")
                words.append(splits[0])
                labels.append(splits[-1].replace("\n", "") if len(splits) > 1 else "O")
    if words:
        examples.append((words, labels))
    return examples


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


class _NoPause:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    import probes.readers.xtreme as X

    print("| file | sentences | words | XTREME loop (s) | read_token_file (s) | ratio | without GC pause (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    tot_base = tot_ours = 0.0
    for task, split, lang in FILES:
        path = xtreme_path(data_dir, task, split, lang)
        if not path.is_file():
            continue
        kw = {"field": "tag", "labels": None, "label_pattern": X._BIO} if task == "panx" else {}
        sents = read_token_file(path, **kw)  # type: ignore[arg-type]
        n_words = sum(len(s.words) for s in sents)
        base = _best(lambda p=path: xtreme_baseline(p), args.repeat)
        ours = _best(lambda p=path, k=kw: read_token_file(p, **k), args.repeat)  # type: ignore[misc]
        X._gc_paused = _NoPause  # type: ignore[assignment]
        try:
            no_pause = _best(lambda p=path, k=kw: read_token_file(p, **k), args.repeat)  # type: ignore[misc]
        finally:
            X._gc_paused = _gc_paused
        tot_base += base
        tot_ours += ours
        print(f"| {task}/{path.name} | {len(sents)} | {n_words} | {base:.2f} | {ours:.2f} | {ours / base:.2f} "
              f"| {no_pause:.2f} |")
    ratio = tot_ours / tot_base if tot_base else float("nan")
    print(f"\ntotal ratio {ratio:.2f} (target <= {TARGET_RATIO}): {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
