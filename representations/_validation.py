"""The one input validator shared by every similarity function.

Every public function of :mod:`representations` passes its two activation
matrices through :func:`check_pair`, so that a bad input gets the same kind of
error everywhere: a :class:`~crossling.errors.DataError` whose message names the
function, *both* shapes and what is wrong (unequal numbers of rows, NaN or
infinite values, a matrix whose every feature is constant, too few examples,
wrong number of dimensions), and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crossling.errors import ConfigError, DataError

__all__ = ["check_fraction", "check_matrix", "check_pair", "check_positive_int"]


def _shape_of(a: Any) -> str:
    shape = getattr(a, "shape", None)
    if shape is None:
        try:
            shape = np.shape(a)
        except Exception:  # noqa: BLE001 - ragged input; described as such below
            return "ragged"
    return str(tuple(int(s) for s in shape))


def _as_float64(a: Any, name: str, where: str) -> np.ndarray:
    """``a`` as a float64 ndarray (no copy when it already is one)."""
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return a
    arr = np.asarray(a)
    if arr.dtype == object or arr.dtype.kind in "SUVcmM":
        raise DataError(
            f"{where}: {name} must hold real numbers, got an array of dtype {arr.dtype} "
            f"with shape {_shape_of(arr)}. Convert it with np.asarray({name}, dtype=float)."
        )
    return arr.astype(np.float64, copy=False)


def _convert_2d(x: Any, name: str, where: str, context: str) -> np.ndarray:
    """``x`` as a 2-D float64 array with at least one column."""
    try:
        arr = _as_float64(x, name, where)
    except DataError:
        raise
    except ValueError:
        raise DataError(
            f"{where}: {name} (shape {_shape_of(x)}{context}) is not a rectangular numeric array. "
            "Pass a 2-D array of shape (n_examples, n_features)."
        ) from None
    desc = f"{name} has shape {_shape_of(arr)}{context}"
    if arr.ndim != 2:
        fix = f" Use {name}[:, None] for a single feature." if arr.ndim == 1 else ""
        raise DataError(
            f"{where}: {desc}: expected a 2-D array (n_examples, n_features), got {arr.ndim} dimension(s).{fix}"
        )
    if arr.shape[1] < 1:
        raise DataError(f"{where}: {desc}: it has no features (0 columns). Pass at least one feature.")
    return arr


def _check_values(arr: np.ndarray, name: str, where: str, context: str, check_constant: bool = True) -> None:
    """No NaN/inf, and not every feature constant."""
    desc = f"{name} has shape {_shape_of(arr)}{context}"
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        i, j = (int(v) for v in bad[0])
        raise DataError(
            f"{where}: {desc}: {len(bad)} NaN or infinite value(s), first at row {i}, column {j} "
            f"(value {arr[i, j]}). Remove or impute those examples first."
        )
    # Every feature constant -> the centred matrix is zero and similarity is 0/0.
    if check_constant and np.all(arr.max(axis=0) == arr.min(axis=0)):
        raise DataError(
            f"{where}: {desc}: every feature is constant across the {arr.shape[0]} examples, so similarity "
            "is undefined (zero variance). Check that the examples differ (e.g. not all padding)."
        )


def check_matrix(
    x: Any,
    *,
    name: str = "x",
    where: str = "representations",
    min_examples: int = 2,
    context: str = "",
) -> np.ndarray:
    """Validate one ``(n_examples, n_features)`` matrix and return it as float64.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features)
        Activations: one row per example, one column per feature.
    name : str, default="x"
        The argument's name, used in messages.
    where : str, default="representations"
        The calling function, used in messages.
    min_examples : int, default=2
        The fewest rows the caller can work with.
    context : str, default=""
        Text appended after the shape in messages (e.g. the other input's
        shape, so that errors about a pair name both shapes).

    Returns
    -------
    x : ndarray of shape (n_examples, n_features), dtype float64
        A view when ``x`` already is a float64 ndarray, else a converted copy.

    Raises
    ------
    DataError
        Not 2-D, fewer than ``min_examples`` rows, no features, NaN or
        infinite values, or every feature constant.

    Examples
    --------
    >>> import numpy as np
    >>> check_matrix(np.ones((3, 2), dtype=np.float32) + np.arange(3)[:, None]).dtype
    dtype('float64')
    """
    arr = _convert_2d(x, name, where, context)
    n = arr.shape[0]
    if n < min_examples:
        raise DataError(
            f"{where}: {name} has shape {_shape_of(arr)}{context}: {n} example(s) but this measure needs "
            f"n >= {min_examples}. Pass more examples (rows)."
        )
    _check_values(arr, name, where, context)
    return arr


def check_pair(
    x: Any,
    y: Any,
    *,
    where: str = "representations",
    min_examples: int = 2,
    names: tuple[str, str] = ("x", "y"),
    check_constant: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two paired activation matrices and return them as float64.

    Rows are examples and must correspond: row ``i`` of ``x`` and row ``i`` of
    ``y`` are the same example (e.g. a sentence and its translation). The
    numbers of features may differ.

    Parameters
    ----------
    x : array-like of shape (n_examples, n_features_x)
    y : array-like of shape (n_examples, n_features_y)
    where : str, default="representations"
        The calling function, used in messages.
    min_examples : int, default=2
        The fewest examples the caller can work with (4 for the unbiased HSIC).
    names : (str, str), default=("x", "y")
        Argument names used in messages.
    check_constant : bool, default=True
        Reject a matrix whose every feature is constant (False for one batch
        of a larger data set, where only the whole data must vary).

    Returns
    -------
    x, y : ndarray, dtype float64

    Raises
    ------
    DataError
        Unequal numbers of rows, too few rows, not 2-D, NaN/inf, or a matrix
        whose every feature is constant. The message names both shapes.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = check_pair(np.eye(3), np.arange(6.0).reshape(3, 2))
    >>> x.shape, y.shape
    ((3, 3), (3, 2))
    """
    nx, ny = names
    sx, sy = _shape_of(x), _shape_of(y)
    x = _convert_2d(x, nx, where, f" and {ny} has shape {sy}")
    y = _convert_2d(y, ny, where, f" and {nx} has shape {sx}")
    both = f"{nx} has shape {sx} and {ny} has shape {sy}"
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"{where}: {both}: unequal numbers of rows ({x.shape[0]} vs {y.shape[0]}). Rows are paired "
            "examples (row i of both is the same example); align them (e.g. by sentence id) first."
        )
    if x.shape[0] < min_examples:
        raise DataError(
            f"{where}: {both}: {x.shape[0]} example(s) but this measure needs n >= {min_examples}. "
            "Pass more examples (rows)."
        )
    _check_values(x, nx, where, f" and {ny} has shape {sy}", check_constant)
    _check_values(y, ny, where, f" and {nx} has shape {sx}", check_constant)
    return x, y


def check_fraction(value: Any, name: str, where: str, *, allow_none: bool = False) -> float | None:
    """Check ``0 < value <= 1`` and return it as a float."""
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (0.0 < v <= 1.0):
        raise ConfigError(f"{where}: {name} must be in (0, 1], got {value!r}. Use e.g. {name}=0.99.")
    return v


def check_positive_int(value: Any, name: str, where: str, *, allow_none: bool = False) -> int | None:
    """Check that ``value`` is an integer >= 1 and return it."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{where}: {name} must be a positive integer, got {value!r}.")
    return int(value)
