"""Mantel and partial Mantel tests between labelled language-by-language matrices.

A Mantel test correlates the cells of two distance (or similarity) matrices
over the same languages and assesses the correlation by permuting the
language labels of one matrix (rows and columns together), which keeps the
dependence between cells that share a language. Permutations are vectorised:
all permuted matrices of a batch are gathered with one fancy-indexing call.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> pts = rng.normal(size=(12, 3))
>>> d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
>>> L = [f"l{i}" for i in range(12)]
>>> A = pd.DataFrame(d, L, L); B = pd.DataFrame(d + rng.normal(0, .1, d.shape).clip(0), L, L)
>>> res = mantel(A, (B + B.T) / 2, permutations=199, seed=0)
>>> res.r > 0.9 and res.p < 0.01
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from analysis._frames import square_matrix
from crossling.errors import ConfigError, DataError
from crossling.tables import require_columns

__all__ = ["MantelResult", "mantel", "partial_mantel", "align_matrices", "mantel_by_layer", "mantel_pairs", "bh_fdr"]

_METHODS = ("pearson", "spearman")
_ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class MantelResult:
    """Result of a (partial) Mantel test.

    Attributes
    ----------
    r : float
        Pearson (or Spearman) correlation of the matrix cells (partial
        correlation given the control matrix for a partial test).
    p : float
        Permutation p-value ``(1 + #{stat_perm as extreme}) / (1 + permutations)``.
    n_langs, n_cells : int
        Languages and matrix cells used (upper triangle when both matrices
        are symmetric, all off-diagonal cells otherwise).
    permutations : int
    method, alternative, test : str
    langs : tuple of str
    """

    r: float
    p: float
    n_langs: int
    n_cells: int
    permutations: int
    method: str
    alternative: str
    test: str
    langs: tuple[str, ...]

    def as_row(self) -> dict:
        """A dict for a tidy table (languages joined by commas)."""
        row = asdict(self)
        row["langs"] = ",".join(self.langs)
        return row


def _as_frame(m: pd.DataFrame | np.ndarray, name: str) -> pd.DataFrame:
    if isinstance(m, pd.DataFrame):
        df = m.copy()
        df.index = df.index.astype(str)
        df.columns = df.columns.astype(str)
    else:
        arr = np.asarray(m, dtype=float)
        if arr.ndim != 2:
            raise ConfigError(f"Matrix {name!r} must be 2-D, got shape {arr.shape}.")
        labels = [str(i) for i in range(arr.shape[0])]
        df = pd.DataFrame(arr, index=labels, columns=labels[: arr.shape[1]])
    if df.shape[0] != df.shape[1] or list(df.index) != list(df.columns):
        if set(df.index) == set(df.columns) and df.shape[0] == df.shape[1]:
            df = df.loc[df.index, df.index]
        else:
            raise DataError(
                f"Matrix {name!r} must be square with the same languages as rows and columns; got shape "
                f"{df.shape}, rows {list(df.index)[:5]}..., columns {list(df.columns)[:5]}..."
            )
    return df.astype(float)


def align_matrices(
    *mats: pd.DataFrame, names: Sequence[str] | None = None, drop_incomplete: bool = True
) -> list[pd.DataFrame]:
    """Restrict labelled matrices to their common languages with complete cells.

    Parameters
    ----------
    *mats : DataFrame, shape (n, n)
        Square matrices labelled by language.
    drop_incomplete : bool, default=True
        Drop, one at a time, the language with the most missing off-diagonal
        cells (over all matrices) until none is missing. If False, a missing
        cell raises :class:`DataError`.

    Returns
    -------
    list of DataFrame
        Same order of languages in every matrix.
    """
    names = list(names or [f"matrix{i}" for i in range(len(mats))])
    frames = [_as_frame(m, n) for m, n in zip(mats, names)]
    common = sorted(set.intersection(*[set(f.index) for f in frames]))
    frames = [f.loc[common, common] for f in frames]
    while True:
        n = len(common)
        off = ~np.eye(n, dtype=bool)
        miss = np.zeros((n, n), dtype=bool)
        for f in frames:
            miss |= ~np.isfinite(f.to_numpy()) & off
        if not miss.any():
            break
        if not drop_incomplete:
            i, j = np.argwhere(miss)[0]
            raise DataError(f"Missing matrix cell ({common[i]}, {common[j]}); pass drop_incomplete=True.")
        worst = int(np.argmax(miss.sum(0) + miss.sum(1)))
        common = [c for k, c in enumerate(common) if k != worst]
        frames = [f.loc[common, common] for f in frames]
    if len(common) < 4:
        raise DataError(
            f"Only {len(common)} languages are shared by the matrices {names} with complete cells; a Mantel "
            "test needs at least 4. Check that the tables use the same language codes."
        )
    return frames


def _cells(frames: Sequence[pd.DataFrame]) -> np.ndarray:
    """Boolean mask of the cells compared: upper triangle if all symmetric, else off-diagonal."""
    n = frames[0].shape[0]
    sym = all(np.allclose(f.to_numpy(), f.to_numpy().T, equal_nan=True) for f in frames)
    return np.triu(np.ones((n, n), dtype=bool), 1) if sym else ~np.eye(n, dtype=bool)


def _prep(m: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
    """Cell values (rank-transformed for Spearman) placed back in a matrix."""
    out = np.zeros_like(m, dtype=float)
    v = m[mask]
    out[mask] = sps.rankdata(v) if method == "spearman" else v
    if not mask[np.tril_indices_from(mask, -1)].any():  # upper triangle only: mirror it
        out = out + out.T
    return out


def _zvec(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    if sd <= 0:
        raise DataError("A matrix is constant over the compared cells, so its correlation is undefined.")
    return (v - v.mean()) / sd


def _perm_corrs(A: np.ndarray, mask: np.ndarray, targets: Sequence[np.ndarray], permutations: int,
                rng: np.random.Generator, batch: int = 256) -> list[np.ndarray]:
    """Correlation of each target (z-scored cell vector) with the permuted A's cells."""
    n = A.shape[0]
    av = A[mask]
    mu, sd = av.mean(), av.std()
    out = [np.empty(permutations) for _ in targets]
    rows, cols = np.nonzero(mask)
    done = 0
    while done < permutations:
        m = min(batch, permutations - done)
        perms = np.argsort(rng.random((m, n)), axis=1)
        P = A[perms[:, rows], perms[:, cols]]  # (m, n_cells): permuted matrix cells
        Pz = (P - mu) / sd
        for o, t in zip(out, targets):
            o[done:done + m] = Pz @ t / len(t)
        done += m
    return out


def _pvalue(stat: float, null: np.ndarray, alternative: str) -> float:
    if alternative == "greater":
        k = np.sum(null >= stat - 1e-12)
    elif alternative == "less":
        k = np.sum(null <= stat + 1e-12)
    else:
        k = np.sum(np.abs(null) >= abs(stat) - 1e-12)
    return float((1 + k) / (1 + len(null)))


def _check_args(permutations: int, method: str, alternative: str) -> None:
    if not isinstance(permutations, (int, np.integer)) or permutations < 1:
        raise ConfigError(f"permutations must be a positive integer, got {permutations!r}.")
    if method not in _METHODS:
        raise ConfigError(f"method={method!r} is not one of {_METHODS}.")
    if alternative not in _ALTERNATIVES:
        raise ConfigError(f"alternative={alternative!r} is not one of {_ALTERNATIVES}.")


def mantel(
    a: pd.DataFrame,
    b: pd.DataFrame,
    *,
    permutations: int = 999,
    method: str = "pearson",
    alternative: str = "two-sided",
    seed: int | np.random.Generator | None = 0,
    drop_incomplete: bool = True,
) -> MantelResult:
    """Mantel test between two language-by-language matrices.

    Parameters
    ----------
    a, b : DataFrame, shape (n_langs, n_langs)
        Labelled matrices (index = columns = language codes). Only shared
        languages are used. Asymmetric matrices (e.g. transfer scores
        src -> tgt) use every off-diagonal cell.
    permutations : int, default=999
    method : {"pearson", "spearman"}
    alternative : {"two-sided", "greater", "less"}
    seed : int or Generator
        Permutations are reproducible for a fixed seed.

    Returns
    -------
    MantelResult
    """
    _check_args(permutations, method, alternative)
    A, B = align_matrices(a, b, names=["a", "b"], drop_incomplete=drop_incomplete)
    mask = _cells([A, B])
    Am, Bm = _prep(A.to_numpy(), mask, method), _prep(B.to_numpy(), mask, method)
    bz = _zvec(Bm[mask])
    r = float(_zvec(Am[mask]) @ bz / len(bz))
    rng = np.random.default_rng(seed)
    (null,) = _perm_corrs(Am, mask, [bz], permutations, rng)
    return MantelResult(r, _pvalue(r, null, alternative), len(A), int(mask.sum()), int(permutations), method,
                        alternative, "mantel", tuple(A.index))


def _partial(r_ab, r_ac, r_bc):
    den = np.sqrt(np.clip((1 - r_ac ** 2) * (1 - r_bc ** 2), 1e-15, None))
    return (r_ab - r_ac * r_bc) / den


def partial_mantel(
    a: pd.DataFrame,
    b: pd.DataFrame,
    control: pd.DataFrame,
    *,
    permutations: int = 999,
    method: str = "pearson",
    alternative: str = "two-sided",
    seed: int | np.random.Generator | None = 0,
    drop_incomplete: bool = True,
) -> MantelResult:
    """Partial Mantel test of ``a`` and ``b`` controlling for ``control``.

    The statistic is the partial correlation
    ``r_ab.c = (r_ab - r_ac r_bc) / sqrt((1 - r_ac^2)(1 - r_bc^2))`` of the
    matrix cells; its null distribution permutes the languages of ``a``
    (Smouse, Long & Sokal 1986; as ``vegan::mantel.partial``).

    Parameters
    ----------
    control : DataFrame, shape (n_langs, n_langs)
        E.g. a data-size matrix (mean log pre-training tokens of the pair).

    Returns
    -------
    MantelResult
        ``test == "partial"``.
    """
    _check_args(permutations, method, alternative)
    A, B, C = align_matrices(a, b, control, names=["a", "b", "control"], drop_incomplete=drop_incomplete)
    mask = _cells([A, B, C])
    Am, Bm, Cm = (_prep(M.to_numpy(), mask, method) for M in (A, B, C))
    az, bz, cz = _zvec(Am[mask]), _zvec(Bm[mask]), _zvec(Cm[mask])
    n = len(az)
    r_ab, r_ac, r_bc = az @ bz / n, az @ cz / n, bz @ cz / n
    r = float(_partial(r_ab, r_ac, r_bc))
    rng = np.random.default_rng(seed)
    nab, nac = _perm_corrs(Am, mask, [bz, cz], permutations, rng)
    null = _partial(nab, nac, r_bc)
    return MantelResult(r, _pvalue(r, null, alternative), len(A), int(mask.sum()), int(permutations), method,
                        alternative, "partial", tuple(A.index))


def bh_fdr(p: Sequence[float], alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg q-values and rejections (``statsmodels`` ``fdr_bh``)."""
    p = np.asarray(p, float)
    if len(p) == 0:
        return np.array([]), np.array([], dtype=bool)
    reject, q, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
    return q, reject


def mantel_by_layer(
    alignment: pd.DataFrame,
    against: dict[str, pd.DataFrame],
    *,
    control: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    permutations: int = 999,
    method: str = "pearson",
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Mantel tests of the alignment matrix at every layer against other matrices.

    Parameters
    ----------
    alignment : DataFrame
        A ``representations.align`` table (model, layer, lang_a, lang_b,
        metric, value, ...).
    against : dict name -> DataFrame
        Labelled square matrices (typological distances, transfer matrix).
    control : DataFrame, optional
        When given, a partial Mantel test controlling for it is added
        (``test == "partial"``) beside each plain test.
    metrics : list of str, optional
        Alignment metrics to use (default: all).
    alpha : float
        FDR level; q-values are Benjamini-Hochberg across the layers of each
        (model, metric, against, test) family.

    Returns
    -------
    DataFrame
        ``model, metric, layer, against, test, r, p, q, significant, n_langs,
        n_cells, permutations, method``.
    """
    require_columns(alignment, ("layer", "lang_a", "lang_b", "metric", "value"), "alignment table")
    al = alignment.copy()
    if "model" not in al.columns:
        al["model"] = "unknown"
    if metrics is not None:
        al = al[al["metric"].isin(list(metrics))]
        if al.empty:
            raise ConfigError(f"No alignment rows for metrics {list(metrics)}; available: "
                              f"{sorted(alignment['metric'].unique())}.")
    rows = []
    for (model, metric, layer), sub in al.groupby(["model", "metric", "layer"], sort=True):
        M = square_matrix(sub, "value")
        for name, other in against.items():
            base = {"model": model, "metric": metric, "layer": layer, "against": name}
            res = mantel(M, other, permutations=permutations, method=method, seed=seed)
            rows.append({**base, **res.as_row()})
            if control is not None:
                res = partial_mantel(M, other, control, permutations=permutations, method=method, seed=seed)
                rows.append({**base, **res.as_row()})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["q"] = np.nan
    out["significant"] = False
    for _, idx in out.groupby(["model", "metric", "against", "test"]).groups.items():
        q, rej = bh_fdr(out.loc[idx, "p"].to_numpy(), alpha)
        out.loc[idx, "q"] = q
        out.loc[idx, "significant"] = rej
    cols = ["model", "metric", "layer", "against", "test", "r", "p", "q", "significant", "n_langs", "n_cells",
            "permutations", "method", "alternative", "langs"]
    return out[cols]


def mantel_pairs(
    left: dict[str, pd.DataFrame],
    right: dict[str, pd.DataFrame],
    *,
    control: pd.DataFrame | None = None,
    permutations: int = 999,
    method: str = "pearson",
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Mantel (and partial Mantel) tests of every left matrix against every right matrix.

    E.g. every typological distance (left) against the transfer matrix of
    each task (right). Benjamini-Hochberg q-values are computed over all tests
    of the same kind (plain or partial) in the call.

    Returns
    -------
    DataFrame
        ``left, right, test, r, p, q, significant, n_langs, n_cells, permutations, method``.
    """
    rows = []
    for ln, lm in left.items():
        for rn, rm in right.items():
            res = mantel(lm, rm, permutations=permutations, method=method, seed=seed)
            rows.append({"left": ln, "right": rn, **res.as_row()})
            if control is not None:
                res = partial_mantel(lm, rm, control, permutations=permutations, method=method, seed=seed)
                rows.append({"left": ln, "right": rn, **res.as_row()})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["q"], out["significant"] = np.nan, False
    for _, idx in out.groupby("test").groups.items():
        q, rej = bh_fdr(out.loc[idx, "p"].to_numpy(), alpha)
        out.loc[idx, "q"], out.loc[idx, "significant"] = q, rej
    return out[["left", "right", "test", "r", "p", "q", "significant", "n_langs", "n_cells", "permutations",
                "method", "langs"]]
