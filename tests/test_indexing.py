"""Indexing in spmdgrad.numpy: x[key], x.at[key].set/add/mul, take, take_along_axis.

References: NumPy indexing on the same inputs (values), central finite differences
(derivatives, orders 1 and 2), a Python loop (vmap, including batched index arrays),
the summed loop of VJPs (reduce_axes), and a flat-index loop for .at updates.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import spmdgrad.numpy as jnp
from spmdgrad import jvp, make_jaxpr, vjp, vmap
from spmdgrad.core import Tracer
from spmdgrad.test_util import check_grads, loop_vmap

HYP = settings(max_examples=25, deadline=None)


def rand(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def close(a, b):
    a = np.asarray(a)
    assert a.shape == np.shape(b), (a.shape, np.shape(b))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- random index keys

@hst.composite
def shapes_and_keys(draw, masks=True):
    """A shape and a NumPy-valid key: ints, slices (any step), None, one Ellipsis,
    integer arrays (negative entries too) and concrete boolean masks."""
    shape = tuple(draw(hst.lists(hst.integers(1, 4), min_size=1, max_size=4)))
    key, dim = [], 0
    ellipsis = False
    while dim < len(shape) and draw(hst.booleans()):
        kind = draw(hst.sampled_from(["int", "slice", "none", "array", "mask", "ellipsis"]))
        n = shape[dim]
        if kind == "int":
            key.append(draw(hst.integers(-n, n - 1)))
        elif kind == "slice":
            bound = hst.one_of(hst.none(), hst.integers(-n - 1, n + 1))
            step = draw(hst.one_of(hst.none(), hst.sampled_from([1, 2, 3, -1, -2])))
            key.append(slice(draw(bound), draw(bound), step))
        elif kind == "none":
            key.append(None)
            continue
        elif kind == "array":
            ishape = tuple(draw(hst.lists(hst.integers(1, 3), max_size=2)))
            key.append(np.asarray(draw(hst.lists(hst.integers(-n, n - 1), min_size=int(np.prod(ishape)),
                                                 max_size=int(np.prod(ishape))))).reshape(ishape))
        elif kind == "mask" and masks:
            m = draw(hst.lists(hst.booleans(), min_size=n, max_size=n))
            key.append(np.asarray(m, dtype=bool))
        elif kind == "ellipsis" and not ellipsis:
            ellipsis = True
            key.append(Ellipsis)
            dim = max(dim, len(shape) - draw(hst.integers(0, len(shape) - dim)))
            continue
        else:
            continue
        dim += 1
    if ellipsis:  # items after '...' index the trailing dimensions: reach the end
        key += [slice(None)] * (len(shape) - dim)
    arrays = [k for k in key if isinstance(k, np.ndarray) and k.dtype != bool]
    masks_ = [k for k in key if isinstance(k, np.ndarray) and k.dtype == bool]
    shapes = [a.shape for a in arrays] + [(int(m.sum()),) for m in masks_]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:  # keep the key valid: whole slices where the arrays were
        key = [slice(None) if isinstance(k, np.ndarray) else k for k in key]
    return shape, tuple(key)


@HYP
@given(sk=shapes_and_keys(), data=hst.data())
def test_getitem_matches_numpy_and_batches(sk, data):
    shape, key = sk
    rng = np.random.default_rng(0)
    x, t = rand(rng, shape), rand(rng, shape)
    y, ty = jvp(lambda x: x[key], (x,), (t,))
    close(y, x[key])
    close(ty, t[key])
    ax = data.draw(hst.integers(0, len(shape)), label="in_axis")
    xs = np.moveaxis(rand(rng, (3,) + shape), 0, ax)
    f = lambda x: x[key]  # noqa: E731
    close(vmap(f, in_axes=ax)(xs), loop_vmap(f, ax, xs))
    ct = rand(rng, np.shape(x[key]))
    flat = np.arange(x.size).reshape(shape)[key]  # where each result element came from
    ref = np.bincount(np.ravel(flat), np.ravel(ct), minlength=x.size).reshape(shape)
    close(vjp(f, x)[1](ct)[0], ref)


KEYS = [
    (1,), (-1, slice(None, None, -2)), (slice(1, None), None, Ellipsis, 0),
    ([2, 0, 0],), (slice(None), [[1], [0]], slice(None, 2)), ([0, 1], slice(None), [1, 3]),
    (1, slice(None), [3, 0]), (np.array([True, False, True]), 1), (Ellipsis, np.array([1, -1])),
    (None, [1], None, [1]),
]


@pytest.mark.parametrize("key", KEYS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_getitem_grads(key, dtype):
    x = rand(np.random.default_rng(1), (3, 2, 4), dtype)
    check_grads(lambda x: x[key], (x,), order=2)


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_per_example_vjp_reduce_axes(key):
    _check_reduce_axes(lambda w, x: (w * x)[key], (3, 2, 4), rand(np.random.default_rng(2), (3, 3, 2, 4)))


def _check_reduce_axes(f, wshape, xs, rng=None):
    """vmap over (x, ct) of vjp w.r.t. an unmapped w: reduce_axes=('b',) gives the loop
    sum; without it, the per-example loop."""
    rng = rng or np.random.default_rng(3)
    w = rand(rng, wshape)
    n = len(xs)
    cts = np.stack([rand(rng, np.shape(f(w, xs[i]))) for i in range(n)])
    loop = [vjp(f, w, xs[i])[1](cts[i])[0] for i in range(n)]
    total = vmap(lambda x, ct: vjp(f, w, x, reduce_axes=("b",))[1](ct)[0],
                 in_axes=(0, 0), out_axes=None, axis_name="b")(xs, cts)
    close(total, np.sum(loop, axis=0))
    each = vmap(lambda x, ct: vjp(f, w, x)[1](ct)[0], in_axes=(0, 0), axis_name="b")(xs, cts)
    close(each, np.stack(loop))


# ---------------------------------------------------------------- traced index arrays

def get(x, key):
    """``x[key]``, also when ``x`` is a plain NumPy array and ``key`` holds tracers
    (NumPy's own indexing cannot take traced indices)."""
    return jnp.at(x)[key].get()


TRACED = [  # (name, key built from index arrays i and j, their shape)
    ("x[i]", lambda i, j: i, (2,)),
    ("x[:, i]", lambda i, j: (slice(None), i), (2, 2)),
    ("x[i, 1:, j]", lambda i, j: (i, slice(1, None), j), (3,)),
    ("x[i, ::-1, j]", lambda i, j: (i, slice(None, None, -1), j), (2, 1)),
    ("x[i, None, :, j] (separated)", lambda i, j: (i, None, slice(None), j), (2,)),
    ("x[..., i]", lambda i, j: (Ellipsis, i), ()),
    ("x[0, i, j]", lambda i, j: (0, i, j), (2,)),
]
XSHAPE = (4, 3, 4)


@pytest.mark.parametrize("name, key, ishape", TRACED, ids=[t[0] for t in TRACED])
@HYP
@given(data=hst.data())
def test_traced_indices_vmap_equals_loop(name, key, ishape, data):
    def f(x, i, j):
        return get(x, key(i, j))
    axes = tuple(data.draw(hst.one_of(hst.none(), hst.integers(0, nd)), label=f"axis{k}")
                 for k, nd in enumerate((3, len(ishape), len(ishape))))
    if axes == (None, None, None):
        axes = (None, 0, None)
    size = data.draw(hst.integers(1, 3), label="batch")
    rng = np.random.default_rng(size)

    def arg(shape, ax, make):
        return make(shape) if ax is None else np.moveaxis(make((size,) + shape), 0, ax)
    x = arg(XSHAPE, axes[0], lambda s: rand(rng, s))
    i = arg(ishape, axes[1], lambda s: rng.integers(-3, 3, s))
    j = arg(ishape, axes[2], lambda s: rng.integers(-3, 3, s))
    close(vmap(f, in_axes=axes)(x, i, j), loop_vmap(f, axes, x, i, j))
    # values: the per-example NumPy result
    i0, j0 = rng.integers(-3, 3, ishape), rng.integers(-3, 3, ishape)
    x0 = rand(rng, XSHAPE)
    close(jvp(lambda x: x[key(i0, j0)], (x0,), (x0,))[0], x0[key(i0, j0)])


@pytest.mark.parametrize("name, key, ishape", TRACED, ids=[t[0] for t in TRACED])
def test_traced_indices_grads_and_reduce_axes(name, key, ishape):
    def f(x, i, j):
        return get(x, key(i, j))
    rng = np.random.default_rng(5)
    i, j = rng.integers(-3, 3, ishape), rng.integers(-3, 3, ishape)
    check_grads(lambda x: f(x, i, j), (rand(rng, XSHAPE),), order=2)
    # per-example gradient of a shared table read at per-example (batched) indices
    idx = rng.integers(-3, 3, (4, 2) + ishape)
    _check_reduce_axes(lambda w, ij: f(w, ij[0], ij[1]), XSHAPE, idx)


def test_vmap_of_grad_with_batched_indices_is_vectorized():
    """The batch is never a Python loop: one gather/scatter_add for the whole batch."""
    def loss(w, i):
        return jnp.sum(jnp.sin(w[i]))
    from spmdgrad import grad
    j = str(make_jaxpr(vmap(grad(loss), in_axes=(None, 0)))(np.ones((5, 3)), np.zeros((7, 2), int)))
    assert j.count("gather") == 1 and j.count("scatter_add") == 1


# ---------------------------------------------------------------- .at updates

def _reference_update(x, key, v, how):
    """Independent reference: NumPy getitem of flat positions, then a loop in C order
    (set: the last write wins; add/mul accumulate)."""
    flat = np.arange(x.size).reshape(x.shape)[key]
    vb = np.broadcast_to(v, flat.shape)
    out = x.copy().ravel()
    for p, val in zip(flat.ravel(), vb.ravel()):
        if how == "set":
            out[p] = val
        elif how == "add":
            out[p] += val
        else:
            out[p] *= val
    return out.reshape(x.shape)


def _update(x, key, v, how):
    """``x.at[key].<how>(v)``; plain NumPy arrays have no ``.at``, so they use ``jnp.at``."""
    at = x.at if isinstance(x, Tracer) else jnp.at(x)
    return getattr(at[key], how)(v)


@pytest.mark.parametrize("how", ["set", "add", "mul"])
@HYP
@given(sk=shapes_and_keys(), data=hst.data())
def test_at_update_matches_reference_and_batches(how, sk, data):
    shape, key = sk
    rng = np.random.default_rng(7)
    x = rand(rng, shape)
    rshape = np.shape(x[key])
    vshape = rshape[data.draw(hst.integers(0, len(rshape)), label="v rank cut"):]
    v = rand(rng, vshape)
    got = jvp(lambda x, v: _update(x, key, v, how), (x, v), (x, v))[0]
    close(got, _reference_update(x, key, v, how))
    # batched x and/or values at random axes
    ax = data.draw(hst.one_of(hst.none(), hst.integers(0, len(shape))), label="x axis")
    av = data.draw(hst.one_of(hst.none(), hst.integers(0, len(vshape))), label="v axis")
    if ax is None and av is None:
        ax = 0
    xs = x if ax is None else np.moveaxis(rand(rng, (2,) + shape), 0, ax)
    vs = v if av is None else np.moveaxis(rand(rng, (2,) + vshape), 0, av)
    f = lambda x, v: _update(x, key, v, how)  # noqa: E731
    close(vmap(f, in_axes=(ax, av))(xs, vs), loop_vmap(f, (ax, av), xs, vs))


AT_CASES = [
    ((5,), [0, 2, 0, 4, 2, 2], (6,)),          # repeated targets
    ((4, 3), (slice(None), [2, 0, 2]), (4, 3)),
    ((4, 3), (1,), (3,)),
    ((3, 4, 2), ([0, 2, 0], slice(None, None, -2), 1), (3, 2)),
    ((3, 4), (np.array([True, False, True]),), (2, 4)),
]


@pytest.mark.parametrize("how", ["set", "add", "mul"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("xshape, key, vshape", AT_CASES, ids=repr)
def test_at_update_grads(how, dtype, xshape, key, vshape):
    rng = np.random.default_rng(8)
    x, v = rand(rng, xshape, dtype), rand(rng, vshape, dtype)
    check_grads(lambda x, v: _update(x, key, v, how), (x, v), order=2)


@pytest.mark.parametrize("u", [[0.0, 2.0, 0.0, 3.0, 0.0, 4.0, 1.5, 0.0, 0.0, 2.0],
                               [0.0, 2.0, 3.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0]])
def test_at_mul_grads_with_zero_updates_on_repeated_targets(u):
    idx = np.array([0, 1, 1, 2, 2, 2, 0, 3, 3, 3])
    x = rand(np.random.default_rng(9), (4,))
    f = lambda x, u: x.at[idx].mul(u)  # noqa: E731
    check_grads(lambda x, u: jvp(f, (x, u), (x, u))[0], (x, np.asarray(u)), order=2)


@pytest.mark.parametrize("how", ["set", "add", "mul"])
@HYP
@given(data=hst.data())
def test_at_update_with_batched_indices(how, data):
    """Batched x, values and index arrays, in any combination, against a loop."""
    axes = tuple(data.draw(hst.one_of(hst.none(), hst.integers(0, nd)), label=f"axis{k}")
                 for k, nd in enumerate((2, 2, 1)))
    if axes == (None, None, None):
        axes = (None, None, 0)
    size = data.draw(hst.integers(1, 3), label="batch")
    rng = np.random.default_rng(size + 11)

    def arg(shape, ax, make):
        return make(shape) if ax is None else np.moveaxis(make((size,) + shape), 0, ax)
    x = arg((5, 3), axes[0], lambda s: rand(rng, s))
    v = arg((4, 3), axes[1], lambda s: rand(rng, s))
    i = arg((4,), axes[2], lambda s: rng.integers(-5, 5, s))
    f = lambda x, v, i: _update(x, i, v, how)  # noqa: E731
    close(vmap(f, in_axes=axes)(x, v, i), loop_vmap(f, axes, x, v, i))


@pytest.mark.parametrize("how", ["set", "add", "mul"])
def test_at_update_per_example_vjp_reduce_axes(how):
    rng = np.random.default_rng(12)
    idx = np.array([1, 3, 1])
    vs = rand(rng, (4, 3, 2))   # per-example values
    _check_reduce_axes(lambda w, v: _update(w, idx, v, how), (5, 2), vs)
    ids = rng.integers(0, 5, (4, 3))  # per-example indices, shared table w
    _check_reduce_axes(lambda w, i: _update(w, i, np.ones((3, 2)), how) * w, (5, 2), ids)


def test_at_get_and_function_form():
    x = np.arange(6.0).reshape(2, 3)
    close(jvp(lambda x: x.at[:, 1].get(), (x,), (x,))[0], x[:, 1])
    close(jnp.at(x)[0, [0, 0]].add(1.0), np.array([[2.0, 1, 2], [3, 4, 5]]))
    close(jnp.at(x)[...].set(7.0), np.full((2, 3), 7.0))
    close(jnp.at(x)[:].mul(2.0), 2 * x)


# ---------------------------------------------------------------- take, take_along_axis

@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("mode", [None, "wrap", "clip"])
def test_take_values_and_grads(axis, mode):
    rng = np.random.default_rng(13)
    a = rand(rng, (3, 4))
    hi = 8 if mode else 3
    idx = rng.integers(-3, hi, (2, 2))
    close(jnp.take(a, idx, axis=axis, mode=mode), np.take(a, idx, axis=axis, mode=mode or "raise"))
    check_grads(lambda a: jnp.take(a, idx, axis=axis, mode=mode), (a,), order=2)
    check_grads(lambda a: jnp.take(a, idx, axis=axis, mode=mode), (rand(rng, (3, 4), np.complex128),),
                order=2)
    ids = np.stack([idx, np.abs(idx) % 3])  # per-example indices, shared table
    _check_reduce_axes(lambda w, i: jnp.take(w, i, axis=axis, mode=mode), (3, 4), ids)


@HYP
@given(data=hst.data())
def test_take_vmap_with_batched_indices(data):
    axis = data.draw(hst.sampled_from([None, 0, 1, 2, -1]), label="take axis")
    mode = data.draw(hst.sampled_from([None, "wrap", "clip"]), label="mode")
    ia = data.draw(hst.one_of(hst.none(), hst.integers(0, 3)), label="array in_axis")
    ii = data.draw(hst.one_of(hst.none(), hst.integers(0, 2)), label="index in_axis")
    if ia is None and ii is None:
        ii = 0
    rng = np.random.default_rng(14)
    a = rand(rng, (2, 3, 4)) if ia is None else np.moveaxis(rand(rng, (2, 2, 3, 4)), 0, ia)
    lo = -2 if mode is None else -9
    i = rng.integers(lo, 2, (3, 2)) if ii is None else np.moveaxis(rng.integers(lo, 2, (2, 3, 2)), 0, ii)
    f = lambda a, i: jnp.take(a, i, axis=axis, mode=mode)  # noqa: E731
    out = vmap(f, in_axes=(ia, ii))(a, i)
    close(out, loop_vmap(f, (ia, ii), a, i))
    for b in range(2):  # and each instance against NumPy
        a_b = a if ia is None else np.take(a, b, axis=ia)
        i_b = i if ii is None else np.take(i, b, axis=ii)
        close(out[b], np.take(a_b, i_b, axis=axis, mode=mode or "raise"))


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_take_along_axis_values_grads_and_batching(axis):
    rng = np.random.default_rng(15)
    a = rand(rng, (3, 4))
    if axis is None:
        idx = rng.integers(-12, 12, (5,))
    else:
        ishape = [3, 4]
        ishape[axis] = 5
        idx = rng.integers(-3, 3, ishape)
    close(jnp.take_along_axis(a, idx, axis), np.take_along_axis(a, idx, axis))
    check_grads(lambda a: jnp.take_along_axis(a, idx, axis), (a,), order=2)
    check_grads(lambda a: jnp.take_along_axis(a, idx, axis), (rand(rng, (3, 4), np.complex128),),
                order=2)
    f = lambda a, i: jnp.take_along_axis(a, i, axis)  # noqa: E731
    for axes in [(0, 0), (None, 0), (1, None), (2, 1)]:
        A = np.stack([a, 2 * a], axis=axes[0]) if axes[0] is not None else a
        Ii = np.stack([idx, idx[::-1] if idx.ndim == 1 else np.flip(idx, 0)], axis=axes[1]) \
            if axes[1] is not None else idx
        if axes[0] is not None and axes[0] > A.ndim - 1:
            continue
        close(vmap(f, in_axes=axes)(A, Ii), loop_vmap(f, axes, A, Ii))
    _check_reduce_axes(lambda w, i: jnp.take_along_axis(w, i, axis), (3, 4), np.stack([idx, idx]))


def test_take_along_axis_with_argsort_indices_broadcast():
    a = np.array([[3.0, 1.0, 2.0], [0.5, 0.7, 0.1]])
    order = np.argsort(a, axis=1)
    close(jnp.take_along_axis(a, order, 1), np.sort(a, axis=1))
    close(jnp.take_along_axis(a, order[:1], 1), np.take_along_axis(a, order[:1], 1))
    close(jnp.take_along_axis(a, np.array([[0], [2]]), 1), np.take_along_axis(a, np.array([[0], [2]]), 1))


# ---------------------------------------------------------------- methods on tracers

def test_tracer_methods_match_numpy():
    x = rand(np.random.default_rng(16), (2, 1, 3))
    for name, args in [("squeeze", ()), ("flatten", ()), ("ravel", ()), ("squeeze", (1,)),
                       ("take", ([2, 0], 2)), ("repeat", (2, 0)), ("swapaxes", (0, 2))]:
        got = jvp(lambda x: getattr(x, name)(*args), (x,), (x,))[0]
        close(got, getattr(x, name)(*args))
    close(jvp(lambda x: x[0, 0, ::-1], (x,), (x,))[0], x[0, 0, ::-1])
    y = rand(np.random.default_rng(17), (3, 4))
    for name, args, kwargs in [("var", (), {}), ("std", (0,), {}), ("prod", (), {"axis": 1}),
                               ("cumsum", (), {"axis": 1}), ("argmax", (), {}),
                               ("argmin", (), {"axis": 0}), ("clip", (-0.5, 0.5), {}),
                               ("sort", (), {"axis": 1})]:
        got = jvp(lambda y: getattr(y, name)(*args, **kwargs), (y,), (y,))[0]
        ref = np.sort(y, axis=1) if name == "sort" else getattr(y, name)(*args, **kwargs)
        close(got, ref)
    assert [np.asarray(r).shape for r in jvp(lambda x: tuple(x), (x,), (x,))[0]] == [(1, 3)] * 2


# ---------------------------------------------------------------- errors

X = np.arange(12.0).reshape(3, 4)


def _under_jvp(f):
    return lambda: jvp(f, (X,), (X,))


@pytest.mark.parametrize("exc, pattern, f", [
    (IndexError, r"index 3 is out of bounds for axis 0 with size 3 \(array shape \(3, 4\)\)",
     _under_jvp(lambda x: x[3])),
    (IndexError, r"index -5 is out of bounds for axis 1 with size 4", _under_jvp(lambda x: x[:, -5])),
    (IndexError, r"index 7 is out of bounds for axis 1 with size 4", _under_jvp(lambda x: x[0, [1, 7]])),
    (IndexError, r"too many indices for array: array is 2-dimensional .* but 3 were indexed",
     _under_jvp(lambda x: x[0, 0, 0])),
    (IndexError, r"single ellipsis", _under_jvp(lambda x: x[..., ...])),
    (IndexError, r"boolean index of shape \(2,\) does not match", _under_jvp(lambda x: x[np.array([True, False])])),
    (IndexError, r"shape mismatch: indexing arrays could not be broadcast together",
     _under_jvp(lambda x: x[[0, 1], [0, 1, 2]])),
    (TypeError, r"arrays used as indices must be of integer \(or boolean\) type, got float64",
     _under_jvp(lambda x: x[np.array([0.0])])),
    (TypeError, r"only integers, slices .* got 'a'", _under_jvp(lambda x: x["a"])),
    (TypeError, r"boolean scalar", _under_jvp(lambda x: x[True])),
    (TypeError, r"0-d boolean", _under_jvp(lambda x: x[np.array(True)])),
    (ValueError, r"at\[...\].set: shape mismatch: value array of shape \(3,\) could not be broadcast "
                 r"to indexing result of shape \(4,\)", _under_jvp(lambda x: x.at[0].set(np.ones(3)))),
    (TypeError, r"at\[...\].add: cannot cast updates of dtype complex128 to the array's dtype float64",
     _under_jvp(lambda x: x.at[0].add(np.ones(4, complex)))),
    (IndexError, r"index 3 is out of bounds for axis 0", _under_jvp(lambda x: x.at[[0, 3]].add(1.0))),
    (ValueError, r"take: axis 2 is out of bounds for an array of rank 2", lambda: jnp.take(X, [0], axis=2)),
    (IndexError, r"index 4 is out of bounds for axis 1 with size 4", lambda: jnp.take(X, [4], axis=1)),
    (ValueError, r"take: mode must be", lambda: jnp.take(X, [4], axis=1, mode="fill")),
    (ValueError, r"take_along_axis: indices \(shape \(2,\)\) and arr \(shape \(3, 4\)\) must have the "
                 r"same number of dimensions", lambda: jnp.take_along_axis(X, np.array([0, 1]), 1)),
    (ValueError, r"take_along_axis: indices of shape \(2, 1\) do not broadcast",
     lambda: jnp.take_along_axis(X, np.zeros((2, 1), int), 1)),
])
def test_errors(exc, pattern, f):
    with pytest.raises(exc, match=pattern):
        f()


def test_traced_boolean_mask_is_refused():
    with pytest.raises(TypeError, match="boolean mask that is a traced value.*where"):
        vmap(lambda x: x[x > 0])(X)
    with pytest.raises(TypeError, match="boolean mask that is a traced value"):
        vmap(lambda x: x.at[x > 0].set(0.0))(X)


def test_traced_slice_bounds_are_refused():
    with pytest.raises(TypeError, match="slice bounds must be concrete"):
        vmap(lambda x, i: x[i:i + 2])(X, np.array([0, 1, 0]))


def test_traced_out_of_bounds_index_is_an_index_error():
    with pytest.raises(IndexError, match=r"out of bounds for axis .* with size 4"):
        vmap(lambda i: jnp.take(X, i, axis=1))(np.array([0, 9]))
    with pytest.raises(IndexError, match=r"out of bounds"):
        vmap(lambda x, i: x.at[i].add(1.0))(X, np.array([0, 1, -7]))
