"""Contractions of the NumPy front end: matmul, dot, tensordot, outer, inner, vdot
and einsum, all lowered to ``einsum2``, the one contraction primitive."""
from __future__ import annotations

import functools

import numpy as np

from ..core import get_aval
from ..primitives import structural as st
from ..primitives.contraction import einsum2
from ..primitives.indexing import gather
from ..primitives.reductions import reduce_sum
from ._core import asarray, normalize_axes, promote, same_float_tracers
from ._math import check_out, conj, multiply
from ._shape import ravel

__all__ = ["matmul", "dot", "einsum", "tensordot", "outer", "inner", "vdot"]


def _shape(x):
    return get_aval(x).shape


def _axes(axis, nd, op):
    return normalize_axes(axis, nd, op)


# ---------------------------------------------------------------- contractions

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letters(n, avoid=""):
    out = [c for c in _ALPHABET if c not in avoid][:n]
    if len(out) < n:
        raise ValueError(f"contraction needs {n} distinct index letters; at most "
                         f"{len(_ALPHABET) - len(set(avoid))} are available")
    return "".join(out)


def _contract_operands(x, y, op):
    if same_float_tracers(x, y):  # fast path: promote would return them unchanged
        return x, y, x.aval.shape, y.aval.shape
    x, y = promote(asarray(x), asarray(y), broadcast=False)
    return x, y, _shape(x), _shape(y)


def matmul(x, y):
    """NumPy matmul: 1-d operands are promoted and their axis removed; batch dims broadcast.

    >>> matmul(np.ones((2, 1, 3, 4)), np.ones((5, 4, 2))).shape
    (2, 5, 3, 2)
    """
    x, y, xs, ys = _contract_operands(x, y, "matmul")
    x_to, y_to, spec = _matmul_plan(xs, ys)
    if x_to is not None:
        x = st.reshape(x, x_to)
    if y_to is not None:
        y = st.reshape(y, y_to)
    return einsum2(x, y, spec)


@functools.lru_cache(maxsize=1024)
def _matmul_plan(xs, ys):
    """The operands' shapes for einsum2 (None: as they are) and its spec; derived once
    per pair of shapes (an exception is not cached, so bad shapes raise on every call)."""
    if not xs or not ys:
        raise ValueError(f"matmul: operands must be at least 1-d, got shapes {xs} and {ys} "
                         "(use multiply for scalars)")
    x1, y1 = len(xs) == 1, len(ys) == 1
    kx, ky = xs[-1], ys[0] if y1 else ys[-2]
    if kx != ky:
        raise ValueError(f"matmul: contraction dimension mismatch: {xs} @ {ys} "
                         f"(size {kx} vs {ky})")
    bx, by = (() if x1 else xs[:-2]), (() if y1 else ys[:-2])
    try:
        batch = np.broadcast_shapes(bx, by)
    except ValueError:
        raise ValueError(f"matmul: batch dimensions {bx} and {by} of {xs} @ {ys} do not "
                         "broadcast") from None
    m, k, n = "mkn"
    letters = _letters(len(batch), "mkn")

    def side(s, b, tail):
        # Drop size-1 batch dims that broadcast: the letter then comes from the other side.
        off = len(batch) - len(b)
        keep = [i for i, d in enumerate(b) if d == batch[off + i]]
        to = tuple(b[i] for i in keep) + s[len(b):]
        return None if to == s else to, "".join(letters[off + i] for i in keep) + tail

    x_to, sx = side(xs, bx, k if x1 else m + k)
    y_to, sy = side(ys, by, k if y1 else k + n)
    out = letters + ("" if x1 else m) + ("" if y1 else n)
    return x_to, y_to, f"{sx},{sy}->{out}"


def dot(a, b, out=None):
    """NumPy dot: sum over the last axis of ``x`` and the second-to-last of ``y``
    (the only axis of a 1-d ``y``); a product for 0-d operands.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    """
    check_out(out, "dot")
    x, y = a, b
    x, y, xs, ys = _contract_operands(x, y, "dot")
    if not xs or not ys:
        return multiply(x, y)
    ky = ys[0] if len(ys) == 1 else ys[-2]
    if xs[-1] != ky:
        raise ValueError(f"dot: shapes {xs} and {ys} not aligned: {xs[-1]} (dim {len(xs) - 1}) "
                         f"!= {ky} (dim {max(len(ys) - 2, 0)})")
    a = _letters(len(xs) - 1 + len(ys) - 1 + 1)
    k, a, b = a[0], a[1:len(xs)], a[len(xs):]
    sy = k + b if len(ys) == 1 else b[:-1] + k + b[-1]
    return einsum2(x, y, f"{a}{k},{sy}->{a}{b}")


def tensordot(a, b, axes=2):
    """Sum products over ``axes``: an int N (last N of ``a`` with first N of ``b``) or a
    pair of axis sequences.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.tensordot(np.ones((2, 3)), np.ones((3, 4)), 1).shape
    (2, 4)
    """
    x, y, xs, ys = _contract_operands(a, b, "tensordot")
    if isinstance(axes, int | np.integer):
        n = int(axes)
        if n < 0 or n > len(xs) or n > len(ys):
            raise ValueError(f"tensordot: axes={n} is invalid for shapes {xs} and {ys}")
        ax, ay = tuple(range(len(xs) - n, len(xs))), tuple(range(n))
    else:
        try:
            ax, ay = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, got "
                            f"{axes!r}") from None
        ax = _axes(ax, len(xs), "tensordot")
        ay = _axes(ay, len(ys), "tensordot")
        if len(ax) != len(ay):
            raise ValueError(f"tensordot: axes {axes!r} pair different numbers of axes")
    for i, j in zip(ax, ay, strict=True):
        if xs[i] != ys[j]:
            raise ValueError(f"tensordot: shape mismatch for sum: axis {i} of {xs} has size "
                             f"{xs[i]} but axis {j} of {ys} has size {ys[j]}")
    letters = iter(_letters(len(xs) + len(ys) - len(ax)))
    sx = [next(letters) for _ in xs]
    sy = [None] * len(ys)
    for i, j in zip(ax, ay, strict=True):
        sy[j] = sx[i]
    sy = [c if c is not None else next(letters) for c in sy]
    out = [c for i, c in enumerate(sx) if i not in ax] + [c for j, c in enumerate(sy) if j not in ay]
    return einsum2(x, y, f"{''.join(sx)},{''.join(sy)}->{''.join(out)}")


def outer(a, b, out=None):
    """Outer product of the flattened inputs (no conjugation).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.outer(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([[1., 0.],
           [2., 0.]])
    """
    check_out(out, "outer")
    x, y = promote(ravel(a), ravel(b), broadcast=False)
    return einsum2(x, y, "i,j->ij")


def inner(a, b):
    """Sum over the last axes of ``a`` and ``b`` (a product for 0-d operands).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.inner(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    """
    x, y, xs, ys = _contract_operands(a, b, "inner")
    if not xs or not ys:
        return multiply(x, y)
    if xs[-1] != ys[-1]:
        raise ValueError(f"inner: last dimensions of {xs} and {ys} differ")
    letters = _letters(len(xs) + len(ys) - 1)
    k, sa, sb = letters[0], letters[1:len(xs)], letters[len(xs):]
    return einsum2(x, y, f"{sa}{k},{sb}{k}->{sa}{sb}")


def vdot(a, b):
    """Dot product of the flattened inputs, conjugating the first (as NumPy's vdot).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.vdot(np.array([1j, 1.0]), np.array([1j, 2.0]))
    array(3.+0.j)
    """
    x, y = promote(ravel(a), ravel(b), broadcast=False)
    if _shape(x) != _shape(y):
        raise ValueError(f"vdot: inputs have different sizes {_shape(x)[0]} and {_shape(y)[0]}")
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        x = conj(x)
    return einsum2(x, y, "i,i->")



# ---------------------------------------------------------------- einsum

def einsum(subscripts, *operands, out=None, optimize=None, precision=None, preferred_element_type=None,
           dtype=None, order="K", casting="safe"):
    """Einstein summation over any number of operands, reduced pairwise to ``einsum2``.

    Supports implicit and explicit output, ``...``, size-1 broadcasting, repeated
    indices within an operand (diagonals), indices summed within one operand, and the
    interleaved form ``einsum(a, [0, 1], b, [1, 2])``. ``dtype`` casts the operands and
    JAX's ``preferred_element_type`` the result; ``precision``, ``order`` and ``casting``
    are accepted for compatibility (NumPy computes in the operands' dtype).

    >>> einsum("ii->i", np.arange(9.0).reshape(3, 3))
    array([0., 4., 8.])
    >>> einsum("ij,jk,k->i", np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0))
    array([18., 18.])
    """
    check_out(out, "einsum")
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved(subscripts, operands)
    if dtype is not None:
        operands = [asarray(o, dtype) for o in operands]
    out = _einsum(subscripts, operands)
    return out if preferred_element_type is None else asarray(out, preferred_element_type)


def _einsum(subscripts, operands):
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    ops = promote(*[asarray(o) for o in operands], broadcast=False)
    terms, out = _parse_einsum(subscripts.replace(" ", ""), [_shape(o) for o in ops])
    size = {}
    for t, o in zip(terms, ops, strict=True):
        for c, d in zip(t, _shape(o), strict=True):
            if size.get(c, 1) not in (1, d) and d != 1:
                raise ValueError(f"einsum '{subscripts}': index {c!r} has sizes {size[c]} and {d} "
                                 f"(operand shapes {[_shape(o) for o in ops]})")
            size[c] = max(size.get(c, 1), d)
    ops, terms = zip(*[_diagonal(o, t, size, subscripts) for o, t in zip(ops, terms, strict=True)],
                     strict=True)
    ops, terms = list(ops), list(terms)

    def needed(i):
        # Indices operand i must keep: in the output or in some other operand.
        return set(out).union(*[terms[j] for j in range(len(terms)) if j != i])

    for i in range(len(ops)):
        ops[i], terms[i] = _sum_out(ops[i], terms[i], needed(i))
    while len(ops) > 1:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                rest = set(out).union(*[terms[k] for k in range(len(ops)) if k not in (i, j)])
                keep = "".join(c for c in terms[i] + terms[j] if c in rest)
                keep = "".join(dict.fromkeys(keep))
                cost = int(np.prod([size[c] for c in keep], dtype=np.int64))
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        _, i, j, keep = best
        res = einsum2(ops[i], ops[j], f"{terms[i]},{terms[j]}->{keep}")
        ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [res]
        terms = [t for k, t in enumerate(terms) if k not in (i, j)] + [keep]
    x, t = ops[0], terms[0]
    missing = [c for c in out if c not in t]
    if missing:  # only size-1 broadcast indices can be absent here
        x = st.reshape(x, _shape(x) + (1,) * len(missing))
        t = t + "".join(missing)
    return st.transpose(x, tuple(t.index(c) for c in out))


def _interleaved(first, rest):
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as ``einsum('ab,bc->ac', a, b)``."""
    args, out = (first,) + tuple(rest), None
    if len(args) % 2 == 1:  # a trailing output sublist
        args, out = args[:-1], args[-1]
    ops, subs = list(args[0::2]), list(args[1::2])

    def letters(sub):
        s = ""
        for k in sub:
            if k is Ellipsis:
                s += "..."
            elif isinstance(k, int | np.integer) and 0 <= k < len(_ALPHABET):
                s += _ALPHABET[int(k)]
            else:
                raise ValueError(f"einsum: subscript {k!r} in the interleaved form must be an int "
                                 f"in [0, {len(_ALPHABET)}) or Ellipsis")
        return s
    spec = ",".join(letters(s) for s in subs) + ("" if out is None else "->" + letters(out))
    return spec, ops


def _parse_einsum(spec, shapes):
    """Per-operand index strings (ellipses expanded) and the output string."""
    if spec.count("->") > 1:
        raise ValueError(f"einsum: subscripts {spec!r} contain more than one '->'")
    lhs, arrow, rhs = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: subscripts {spec!r} name {len(ins)} operands but "
                         f"{len(shapes)} were given")
    used = set(c for c in spec if c.isalpha())
    for c in spec:
        if not (c.isalpha() and c.isascii()) and c not in ",->.":
            raise ValueError(f"einsum: invalid character {c!r} in subscripts {spec!r}")
    n_ell = []
    for t, s in zip(ins, shapes, strict=True):
        if t.count("...") > 1 or t.replace("...", "").count("."):
            raise ValueError(f"einsum: invalid ellipsis in {t!r}")
        n = len(s) - len(t.replace("...", ""))
        if n < 0 or (n > 0 and "..." not in t):
            raise ValueError(f"einsum: subscripts {t!r} do not match an operand of rank {len(s)}")
        n_ell.append(n)
    ell = _letters(max(n_ell, default=0), "".join(used))
    terms = [t.replace("...", ell[len(ell) - n:] if n else "") for t, n in zip(ins, n_ell, strict=True)]
    if arrow:
        if rhs.count("...") > 1 or rhs.replace("...", "").count("."):
            raise ValueError(f"einsum: invalid ellipsis in output {rhs!r}")
        if ell and "..." not in rhs:
            raise ValueError(f"einsum '{spec}': operands have broadcast ('...') dimensions, so "
                             "the output must contain '...'")
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"einsum: output index {c!r} appears more than once in {rhs!r}")
            if not any(c in t for t in terms):
                raise ValueError(f"einsum: output index {c!r} does not appear in any operand")
    else:
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return terms, out


def _diagonal(x, t, size, spec):
    """Take diagonals for indices repeated within one operand, and drop size-1 dims whose
    index is broadcast against a larger size elsewhere."""
    for c in dict.fromkeys(t):
        pos = tuple(i for i, e in enumerate(t) if e == c)
        if len(pos) > 1:
            dims = {_shape(x)[p] for p in pos}
            if len(dims) > 1:
                raise ValueError(f"einsum '{spec}': repeated index {c!r} has sizes "
                                 f"{sorted(dims)} within one operand")
            ar = np.arange(dims.pop())
            x = gather(x, *([ar] * len(pos)), axes=pos)
            t = c + "".join(e for i, e in enumerate(t) if i not in pos)
    s = _shape(x)
    drop = [i for i, (c, d) in enumerate(zip(t, s, strict=True)) if d == 1 and size[c] > 1]
    if drop:
        x = st.reshape(x, tuple(d for i, d in enumerate(s) if i not in drop))
        t = "".join(c for i, c in enumerate(t) if i not in drop)
    return x, t


def _sum_out(x, t, needed):
    """Sum away indices no other operand or the output uses."""
    axes = tuple(i for i, c in enumerate(t) if c not in needed)
    if not axes:
        return x, t
    return reduce_sum(x, axes), "".join(c for c in t if c in needed)
