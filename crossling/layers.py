"""Layer numbering, names and capture: the same for every architecture.

Layer ``0`` is the embedding output (the input of the first block) and layer
``i`` is the output of block ``i``. What each index holds:

============  =====================================  ==========================================
architecture  layer 0                                 layer i (1..n)
============  =====================================  ==========================================
BERT / XLM-R  embeddings (word+position+type, then    output of ``encoder.layer[i-1]`` (each
              LayerNorm), i.e. input of block 1       block ends with a LayerNorm: post-LN)
T5 / mT5      ``embed_tokens`` output (no norm;        output of ``encoder.block[i-1]``: the raw
              T5 scales nothing), input of block 1    residual stream (pre-LN blocks). With
                                                      ``final_norm="hf"`` (default) layer n is
                                                      ``final_layer_norm(block n)``, exactly
                                                      HF's ``last_hidden_state``; ``"all"``
                                                      applies ``final_layer_norm`` to every
                                                      layer 0..n; ``"none"`` leaves all raw.
============  =====================================  ==========================================

T5's residual stream has a few dimensions of huge magnitude before the final
RMS norm: similarity measures on raw T5 layers are dominated by them, which
is why ``final_norm="all"`` exists. Layers are captured with forward hooks on
the blocks (independent of how a transformers version assembles
``hidden_states``), and the forward pass stops after the deepest requested
block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossling.errors import ConfigError, ModelError

__all__ = [
    "get_blocks", "layer_names", "LayerCapture", "FINAL_NORM_CHOICES", "parse_layers", "check_layer_spec", "select_layers"]

#: How the last layer treats a final layer norm: as the model returns it (``hf``), applied to every layer (``all``), or never (``none``).
FINAL_NORM_CHOICES = ("hf", "all", "none")


def _blocks_and_path(model: Any, arch: str) -> tuple[Any, str, Any]:
    """(ModuleList of blocks, its dotted path, final norm module or None)."""
    if arch == "t5":
        enc = getattr(model, "encoder", model)
        path = "encoder.block" if hasattr(model, "encoder") else "block"
        return enc.block, path, enc.final_layer_norm
    enc = getattr(model, "encoder", None)
    if enc is not None and hasattr(enc, "layer"):
        return enc.layer, "encoder.layer", None
    # Generic fallback: the first ModuleList with num_hidden_layers modules.
    n = getattr(model.config, "num_hidden_layers", None)
    import torch

    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and len(mod) == n:
            return mod, name, None
    raise ModelError(f"Cannot find the encoder blocks of {type(model).__name__}; supported: BERT-like and T5-like encoders.")


def get_blocks(loaded: Any) -> Any:
    """The encoder's block list of a :class:`~probes.models.LoadedModel`."""
    return _blocks_and_path(loaded.model, loaded.arch)[0]


def layer_names(loaded: Any, final_norm: str = "hf") -> list[str]:
    """Stable names of layers ``0..n`` (public API, pinned by a golden test).

    Examples: ``["embeddings", "encoder.layer.0", ..., "encoder.layer.11"]``
    for BERT; ``["embeddings", "encoder.block.0", ..., "encoder.block.7+final_layer_norm"]``
    for mT5-small with ``final_norm="hf"``.
    """
    if final_norm not in FINAL_NORM_CHOICES:
        raise ConfigError(f"final_norm must be one of {FINAL_NORM_CHOICES}, got {final_norm!r}.")
    blocks, path, norm = _blocks_and_path(loaded.model, loaded.arch)
    names = ["embeddings"] + [f"{path}.{i}" for i in range(len(blocks))]
    if norm is not None:
        if final_norm == "all":
            names = [n + "+final_layer_norm" for n in names]
        elif final_norm == "hf":
            names[-1] += "+final_layer_norm"
    return names


def _is_all(spec: Any) -> bool:
    return spec is None or (isinstance(spec, str) and spec.strip().lower() == "all") or (
        isinstance(spec, (list, tuple)) and len(spec) == 1 and str(spec[0]).strip().lower() == "all")


def _spec_ranges(spec: Any) -> list[range] | None:
    """The ranges of layer indices a spec names (``None`` for all), checking only its syntax."""
    if _is_all(spec):
        return None
    if isinstance(spec, bool) or not isinstance(spec, (str, int, list, tuple)):
        raise ConfigError(f"Bad --layer value {spec!r}; use integers like 0,6,12, a range 0-6, or 'all'.")
    items = spec.split(",") if isinstance(spec, str) else [spec] if isinstance(spec, int) else list(spec)
    out: list[range] = []
    for it in items:
        s = str(it).strip()
        if not s:
            continue
        if s.lower() == "last":  # the top layer, the same as -1
            s = "-1"
        if "-" in s[1:]:
            a, b = s.split("-", 1) if not s.startswith("-") else (s, s)
            try:
                lo, hi = int(a), int(b)
            except ValueError:
                raise ConfigError(f"Bad layer range {s!r} in --layer; use e.g. 0-6 or 0,6,12 or all.") from None
            if lo > hi:
                raise ConfigError(f"Empty layer range {s!r} in --layer (start > end); write it as {hi}-{lo}.")
            out.append(range(lo, hi + 1))
        else:
            try:
                v = int(s)
            except ValueError:
                raise ConfigError(f"Bad layer {s!r} in --layer; use integers like 0,6,12, a range 0-6, or 'all'.") from None
            out.append(range(v, v + 1))
    if not out:
        raise ConfigError("No layer selected; use --layer all or e.g. --layer 0,6,12.")
    return out


def check_layer_spec(spec: Any, num_layers: int | None = None) -> None:
    """Validate a layer spec before any model is loaded.

    Parameters
    ----------
    spec : str, int or list
        As for :func:`parse_layers`.
    num_layers : int, optional
        Number of blocks when known (e.g. from the model's config file);
        without it only the syntax is checked.

    Raises
    ------
    ConfigError
        For a spec that does not parse, selects nothing, or (with
        ``num_layers``) names a layer the model does not have.

    Examples
    --------
    >>> check_layer_spec("0,6,12")
    >>> check_layer_spec("six")
    Traceback (most recent call last):
    ...
    crossling.errors.ConfigError: Bad layer 'six' in --layer; use integers like 0,6,12, a range 0-6, or 'all'.
    """
    if num_layers is None:
        _spec_ranges(spec)
    else:
        parse_layers(spec, num_layers)


def parse_layers(spec: Any, num_layers: int) -> list[int]:
    """Turn ``"all"``, ``"0,6,12"``, ``"0-4"``, ``[0, 6]``, ``"-1"`` or ``"last"`` into sorted layer indices.

    Raises
    ------
    ConfigError
        For a spec that does not parse, or indices outside ``0..num_layers``
        (negative indices count from the end).

    Examples
    --------
    >>> parse_layers("0,-1", 12)
    [0, 12]
    >>> parse_layers("all", 2)
    [0, 1, 2]
    >>> parse_layers("0,last", 6)
    [0, 6]
    """
    ranges = _spec_ranges(spec)
    if ranges is None:
        return list(range(num_layers + 1))
    out: set[int] = set()
    for rng in ranges:
        for v in rng:
            vv = v + num_layers + 1 if v < 0 else v
            if not 0 <= vv <= num_layers:
                raise ConfigError(
                    f"Layer {v} is out of range for a model with {num_layers} blocks (valid: 0..{num_layers}, "
                    "0 = embeddings, i = output of block i, negative counts from the end)."
                )
            out.add(vv)
    return sorted(out)


def select_layers(spec: Any, available: Sequence[int], *, where: str = "available layers") -> list[int]:
    """Layers of ``spec`` among the ``available`` ones (e.g. those in an activation store).

    The grammar is :func:`parse_layers`'s (``all``, ``0,6,12``, ranges ``0-6``,
    ``last``); a negative index counts from the end of ``available``, a range
    keeps the available layers inside it, and a single layer that is not
    available is an error.

    Parameters
    ----------
    spec : str, int or list
        As for :func:`parse_layers`.
    available : sequence of int
        The layers to choose from.
    where : str
        What holds them, for error messages (``"store"``).

    Raises
    ------
    ConfigError
        For a spec that does not parse, a layer not in ``available`` or a range
        that holds none of them.

    Examples
    --------
    >>> select_layers("0-6,last", [0, 6, 12])
    [0, 6, 12]
    >>> select_layers("-2", [0, 6, 12])
    [6]
    """
    avail = sorted({int(v) for v in available})
    if not avail:
        raise ConfigError("No layers are available to select from; extract some with probes.extract --layers.")
    ranges = _spec_ranges(spec)
    if ranges is None:
        return avail
    out: set[int] = set()
    for rng in ranges:
        if len(rng) == 1:
            v = rng[0]
            if v < 0 and -len(avail) <= v:
                v = avail[v]
            if v not in avail:
                raise ConfigError(f"Layer {rng[0]} is not in the {where}; it has layers {avail} "
                                  "(negative indices count from the last of them).")
            out.add(v)
        else:
            inside = [v for v in avail if v in rng]
            if not inside:
                raise ConfigError(f"Layer range {rng.start}-{rng.stop - 1} holds none of the layers in the {where} {avail}.")
            out.update(inside)
    return sorted(out)


class _Stop(Exception):
    pass


class LayerCapture:
    """Capture layers ``layers`` during one forward pass, stopping early.

    Examples
    --------
    >>> # cap = LayerCapture(loaded, [0, 6, 12]); hs = cap.run(input_ids=..., attention_mask=...)
    """

    def __init__(self, loaded: Any, layers: Sequence[int], final_norm: str = "hf"):
        if final_norm not in FINAL_NORM_CHOICES:
            raise ConfigError(f"final_norm must be one of {FINAL_NORM_CHOICES}, got {final_norm!r}.")
        self.blocks, _, self.norm = _blocks_and_path(loaded.model, loaded.arch)
        self.model = loaded.model
        self.n = len(self.blocks)
        self.layers = sorted(set(int(x) for x in layers))
        if not self.layers or self.layers[0] < 0 or self.layers[-1] > self.n:
            raise ConfigError(f"Layers {list(layers)} out of range 0..{self.n}.")
        self.final_norm = final_norm if self.norm is not None else "none"

    def _post(self, i: int, h: Any) -> Any:
        if self.final_norm == "all" or (self.final_norm == "hf" and i == self.n):
            return self.norm(h)
        return h

    def run(self, **inputs: Any) -> dict[int, Any]:
        """Run the model on ``inputs``; return ``{layer: (batch, seq, dim) tensor}``."""
        captured: dict[int, Any] = {}
        last = self.layers[-1]
        want = set(self.layers)
        handles = []

        def pre_hook(mod: Any, args: Any, kwargs: Any) -> None:
            h = args[0] if args else kwargs.get("hidden_states")
            captured[0] = self._post(0, h)
            if last == 0:
                raise _Stop

        def make_hook(i: int) -> Any:
            def hook(mod: Any, args: Any, output: Any) -> None:
                h = output[0] if isinstance(output, (tuple, list)) else output
                if i in want:
                    captured[i] = self._post(i, h)
                if i == last:
                    raise _Stop

            return hook

        if 0 in want:
            handles.append(self.blocks[0].register_forward_pre_hook(pre_hook, with_kwargs=True))
        for i in range(1, last + 1):
            handles.append(self.blocks[i - 1].register_forward_hook(make_hook(i)))
        try:
            self.model(**inputs)
        except _Stop:
            pass
        finally:
            for h in handles:
                h.remove()
        missing = want - set(captured)
        if missing:
            raise ModelError(f"Layers {sorted(missing)} were not produced by the forward pass.")
        return captured
