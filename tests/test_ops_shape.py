"""Shape ops and contractions of spmdgrad.numpy: values against NumPy, derivatives
against finite differences (orders 1 and 2, float64 and complex128), vmap at random
in_axes and shapes (hypothesis) against a Python loop, per-example VJPs under vmap
with reduce_axes against the summed loop, and error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import spmdgrad.numpy as jnp
from spmdgrad import jvp, make_jaxpr, vjp, vmap
from spmdgrad.test_util import check_grads, loop_vmap
from spmdgrad.tree_util import tree_map

HYP = settings(max_examples=15, deadline=None)
DEFAULT_DIMS = (2, 3, 4, 2)


def rand(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


class Case:
    """An op on positional array arguments; ``shapes(a, b, c, d)`` gives their shapes
    from four dimension sizes, so hypothesis can vary them."""

    def __init__(self, name, f, ref, shapes):
        self.name, self.f, self.ref, self.shapes = name, f, ref, shapes

    def __repr__(self):
        return self.name


C = Case
CASES = [
    C("reshape", lambda x: jnp.reshape(x, (-1, x.shape[0])), lambda x: np.reshape(x, (-1, x.shape[0])),
      lambda a, b, c, d: [(a, b, c)]),
    C("ravel", jnp.ravel, np.ravel, lambda a, b, c, d: [(a, b, c)]),
    C("transpose", lambda x: jnp.transpose(x, (1, 2, 0)), lambda x: np.transpose(x, (1, 2, 0)),
      lambda a, b, c, d: [(a, b, c)]),
    C("transpose_default", jnp.transpose, np.transpose, lambda a, b, c, d: [(a, b, c)]),
    C("moveaxis", lambda x: jnp.moveaxis(x, [0, 1], [2, 0]), lambda x: np.moveaxis(x, [0, 1], [2, 0]),
      lambda a, b, c, d: [(a, b, c)]),
    C("swapaxes", lambda x: jnp.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1),
      lambda a, b, c, d: [(a, b, c)]),
    C("squeeze_axes", lambda x: jnp.squeeze(x, (1, 3)), lambda x: np.squeeze(x, (1, 3)),
      lambda a, b, c, d: [(a, 1, b, 1)]),
    C("squeeze_all", jnp.squeeze, np.squeeze, lambda a, b, c, d: [(1, b + 1, 1)]),
    C("expand_dims", lambda x: jnp.expand_dims(x, (0, 3)), lambda x: np.expand_dims(x, (0, 3)),
      lambda a, b, c, d: [(a, b)]),
    C("atleast_2d", jnp.atleast_2d, np.atleast_2d, lambda a, b, c, d: [(a,)]),
    C("atleast_3d", jnp.atleast_3d, np.atleast_3d, lambda a, b, c, d: [(a, b)]),
    C("concatenate", lambda x, y, z: jnp.concatenate([x, y, z], axis=1),
      lambda x, y, z: np.concatenate([x, y, z], axis=1),
      lambda a, b, c, d: [(a, b, d), (a, c, d), (a, 1, d)]),
    C("concatenate_none", lambda x, y: jnp.concatenate((x, y), axis=None),
      lambda x, y: np.concatenate((x, y), axis=None), lambda a, b, c, d: [(a, b), (c,)]),
    C("stack", lambda x, y: jnp.stack([x, y], axis=-1), lambda x, y: np.stack([x, y], axis=-1),
      lambda a, b, c, d: [(a, b), (a, b)]),
    C("hstack", lambda x, y: jnp.hstack([x, y]), lambda x, y: np.hstack([x, y]),
      lambda a, b, c, d: [(a, b), (a, c)]),
    C("vstack", lambda x, y: jnp.vstack([x, y]), lambda x, y: np.vstack([x, y]),
      lambda a, b, c, d: [(b,), (a, b)]),
    C("split", lambda x: jnp.split(x, [1, 3], axis=1), lambda x: np.split(x, [1, 3], axis=1),
      lambda a, b, c, d: [(a, b + 2)]),
    C("split_sections", lambda x: jnp.split(x, 2, axis=0), lambda x: np.split(x, 2, axis=0),
      lambda a, b, c, d: [(2 * a, b)]),
    C("array_split", lambda x: jnp.array_split(x, 3, axis=-1), lambda x: np.array_split(x, 3, axis=-1),
      lambda a, b, c, d: [(a, b + c)]),
    C("tile", lambda x: jnp.tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)),
      lambda a, b, c, d: [(a, b)]),
    C("repeat_int", lambda x: jnp.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1),
      lambda a, b, c, d: [(a, b, c)]),
    C("repeat_counts", lambda x: jnp.repeat(x, np.arange(x.shape[1]) % 3, axis=1),
      lambda x: np.repeat(x, np.arange(x.shape[1]) % 3, axis=1), lambda a, b, c, d: [(a, b + 1)]),
    C("repeat_flat", lambda x: jnp.repeat(x, 3), lambda x: np.repeat(x, 3), lambda a, b, c, d: [(a, b)]),
    C("flip", lambda x: jnp.flip(x, (0, 2)), lambda x: np.flip(x, (0, 2)), lambda a, b, c, d: [(a, b, c)]),
    C("flip_all", jnp.flip, np.flip, lambda a, b, c, d: [(a, b)]),
    C("roll", lambda x: jnp.roll(x, 2, axis=1), lambda x: np.roll(x, 2, axis=1),
      lambda a, b, c, d: [(a, b, c)]),
    C("roll_multi", lambda x: jnp.roll(x, (1, -2), axis=(0, 2)), lambda x: np.roll(x, (1, -2), axis=(0, 2)),
      lambda a, b, c, d: [(a, b, c)]),
    C("roll_flat", lambda x: jnp.roll(x, 5), lambda x: np.roll(x, 5), lambda a, b, c, d: [(a, b)]),
    C("pad_zero", lambda x: jnp.pad(x, ((1, 0), (0, 2))), lambda x: np.pad(x, ((1, 0), (0, 2))),
      lambda a, b, c, d: [(a, b)]),
    C("pad_value", lambda x: jnp.pad(x, 1, constant_values=2.5),
      lambda x: np.pad(x, 1, constant_values=2.5), lambda a, b, c, d: [(a, b)]),
    C("pad_reflect", lambda x: jnp.pad(x, ((1, 2), (0, 1)), mode="reflect"),
      lambda x: np.pad(x, ((1, 2), (0, 1)), mode="reflect"), lambda a, b, c, d: [(a + 2, b + 1)]),
    C("pad_edge", lambda x: jnp.pad(x, (2, 1), mode="edge"), lambda x: np.pad(x, (2, 1), mode="edge"),
      lambda a, b, c, d: [(a, b)]),
    C("pad_wrap", lambda x: jnp.pad(x, 2, mode="wrap"), lambda x: np.pad(x, 2, mode="wrap"),
      lambda a, b, c, d: [(a, b)]),
    C("pad_symmetric", lambda x: jnp.pad(x, (1, 2), mode="symmetric"),
      lambda x: np.pad(x, (1, 2), mode="symmetric"), lambda a, b, c, d: [(a, b)]),
    # contractions
    C("matmul_vv", jnp.matmul, np.matmul, lambda a, b, c, d: [(a,), (a,)]),
    C("matmul_mv", jnp.matmul, np.matmul, lambda a, b, c, d: [(b, a, c), (c,)]),
    C("matmul_vm", jnp.matmul, np.matmul, lambda a, b, c, d: [(b,), (a, b, c)]),
    C("matmul_bcast", jnp.matmul, np.matmul, lambda a, b, c, d: [(a, 1, b, c), (d, c, 2)]),
    C("matmul_batch_2d", jnp.matmul, np.matmul, lambda a, b, c, d: [(a, b, c), (c, d)]),
    C("matmul_op", lambda x, y: x @ y, np.matmul, lambda a, b, c, d: [(a, b), (b, c)]),
    C("dot_nd", jnp.dot, np.dot, lambda a, b, c, d: [(a, b), (d, b, c)]),
    C("dot_mv", jnp.dot, np.dot, lambda a, b, c, d: [(a, b, c), (c,)]),
    C("dot_scalar", jnp.dot, np.dot, lambda a, b, c, d: [(), (a, b)]),
    C("tensordot_int", lambda x, y: jnp.tensordot(x, y, 1), lambda x, y: np.tensordot(x, y, 1),
      lambda a, b, c, d: [(a, b), (b, c)]),
    C("tensordot_pairs", lambda x, y: jnp.tensordot(x, y, ([1, 0], [0, 2])),
      lambda x, y: np.tensordot(x, y, ([1, 0], [0, 2])), lambda a, b, c, d: [(a, b, c), (b, d, a)]),
    C("outer", jnp.outer, np.outer, lambda a, b, c, d: [(a, b), (c,)]),
    C("inner", jnp.inner, np.inner, lambda a, b, c, d: [(a, b), (c, b)]),
    C("vdot", jnp.vdot, np.vdot, lambda a, b, c, d: [(a, b), (b, a)]),
    C("einsum_matmul", lambda x, y: jnp.einsum("ij,jk->ik", x, y),
      lambda x, y: np.einsum("ij,jk->ik", x, y), lambda a, b, c, d: [(a, b), (b, c)]),
    C("einsum_implicit", lambda x, y: jnp.einsum("kj,ji", x, y),
      lambda x, y: np.einsum("kj,ji", x, y), lambda a, b, c, d: [(a, b), (b, c)]),
    C("einsum_diag", lambda x: jnp.einsum("ii->i", x), lambda x: np.einsum("ii->i", x),
      lambda a, b, c, d: [(a, a)]),
    C("einsum_trace", lambda x: jnp.einsum("ii", x), lambda x: np.einsum("ii", x),
      lambda a, b, c, d: [(b, b)]),
    C("einsum_diag3_contract", lambda x, y: jnp.einsum("iji,jk->ik", x, y),
      lambda x, y: np.einsum("iji,jk->ik", x, y), lambda a, b, c, d: [(a, b, a), (b, c)]),
    C("einsum_sum_single", lambda x, y: jnp.einsum("ijk,kl->l", x, y),
      lambda x, y: np.einsum("ijk,kl->l", x, y), lambda a, b, c, d: [(a, b, c), (c, d)]),
    C("einsum_transpose", lambda x: jnp.einsum("ijk->kij", x), lambda x: np.einsum("ijk->kij", x),
      lambda a, b, c, d: [(a, b, c)]),
    C("einsum_three", lambda x, y, z: jnp.einsum("ij,jk,kl->il", x, y, z),
      lambda x, y, z: np.einsum("ij,jk,kl->il", x, y, z), lambda a, b, c, d: [(a, b), (b, c), (c, d)]),
    C("einsum_four", lambda w, x, y, z: jnp.einsum("ab,bc,ca,d->d", w, x, y, z),
      lambda w, x, y, z: np.einsum("ab,bc,ca,d->d", w, x, y, z),
      lambda a, b, c, d: [(a, b), (b, c), (c, a), (d,)]),
    C("einsum_ellipsis", lambda x, y: jnp.einsum("...ij,...jk->...ik", x, y),
      lambda x, y: np.einsum("...ij,...jk->...ik", x, y), lambda a, b, c, d: [(d, 1, a, b), (c, b, a)]),
    C("einsum_outer", lambda x, y: jnp.einsum("i,j", x, y), lambda x, y: np.einsum("i,j", x, y),
      lambda a, b, c, d: [(a,), (b,)]),
    C("einsum_bcast1", lambda x, y: jnp.einsum("ij,ij->i", x, y),
      lambda x, y: np.einsum("ij,ij->i", x, y), lambda a, b, c, d: [(a, b), (a, 1)]),
]
def _args(rng, case, dims=DEFAULT_DIMS, dtype=np.float64):
    return [rand(rng, s, dtype) for s in case.shapes(*dims)]


def _allclose(a, b):
    if isinstance(b, list | tuple):
        assert isinstance(a, list | tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _allclose(x, y)
        return
    a = np.asarray(a)
    assert a.shape == np.shape(b), (a.shape, np.shape(b))
    assert a.dtype == np.asarray(b).dtype, (a.dtype, np.asarray(b).dtype)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.int64])
def test_forward_equals_numpy(case, dtype):
    rng = np.random.default_rng(1)
    args = _args(rng, case, dtype=np.float64)
    if dtype == np.int64:
        args = [np.round(3 * a).astype(np.int64) for a in args]
    elif dtype == np.complex128:
        args = _args(rng, case, dtype=dtype)
    _allclose(case.f(*args), case.ref(*args))


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_grads_float64(case):
    rng = np.random.default_rng(2)
    check_grads(case.f, _args(rng, case), order=2)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_grads_complex128(case):
    # Every op here is linear or bilinear, hence holomorphic, except vdot, which
    # conjugates its first argument: that one is checked in forward mode, and in
    # reverse mode through its holomorphic second argument.
    rng = np.random.default_rng(3)
    args = _args(rng, case, dtype=np.complex128)
    if case.name == "vdot":
        check_grads(case.f, args, order=2, modes=("fwd",))
        check_grads(lambda b: case.f(args[0], b), args[1:], order=2)
        return
    check_grads(case.f, args, order=2)


DIMS = hst.tuples(*[hst.integers(1, 4)] * 4)


def _batched(rng, shapes, axes, size):
    args = []
    for s, ax in zip(shapes, axes):
        if ax is None:
            args.append(rand(rng, s))
        else:
            args.append(np.moveaxis(rand(rng, (size,) + s), 0, ax))
    return args


@pytest.mark.parametrize("case", CASES, ids=repr)
@HYP
@given(dims=DIMS, data=hst.data())
def test_vmap_equals_loop(case, dims, data):
    shapes = case.shapes(*dims)
    axes = tuple(data.draw(hst.one_of(hst.none(), hst.integers(0, len(s))), label=f"in_axes[{i}]")
                 for i, s in enumerate(shapes))
    if all(a is None for a in axes):
        axes = (0,) + axes[1:]
    size = data.draw(hst.integers(1, 3), label="batch")
    args = _batched(np.random.default_rng(sum(dims)), shapes, axes, size)
    _allclose(vmap(case.f, in_axes=axes)(*args), loop_vmap(case.f, axes, *args))


@pytest.mark.parametrize("case", CASES, ids=repr)
@HYP
@given(dims=DIMS, size=hst.integers(1, 3))
def test_vmap_of_jvp_equals_loop(case, dims, size):
    """Derivatives batch too: the JVP of the op, vmapped over primals and tangents."""
    rng = np.random.default_rng(sum(dims) + size)
    shapes = case.shapes(*dims)
    xs = [rand(rng, (size,) + s) for s in shapes]
    ts = [rand(rng, (size,) + s) for s in shapes]

    def f_jvp(*xt):
        n = len(shapes)
        return jvp(case.f, tuple(xt[:n]), tuple(xt[n:]))[1]
    axes = (0,) * (2 * len(shapes))
    _allclose(vmap(f_jvp, in_axes=axes)(*xs, *ts), loop_vmap(f_jvp, axes, *xs, *ts))


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_per_example_vjp_reduce_axes(case):
    """vmap of vjp over (x, ct) with w unmapped: with reduce_axes=('b',) w's cotangent is
    the loop sum (one invariant value, out_axes=None); without, the per-example loop."""
    rng = np.random.default_rng(4)
    shapes = case.shapes(*DEFAULT_DIMS)
    n = 3
    w = rand(rng, shapes[0])
    if len(shapes) == 1:
        def f(w, x):  # the op's transpose then sees a batched cotangent
            return case.f(w + x)
        xs = rand(rng, (n,) + shapes[0])
        per = list(xs)
    else:
        def f(w, x):
            return case.f(w, *x)
        xs = tuple(rand(rng, (n,) + s) for s in shapes[1:])
        per = [tuple(x[i] for x in xs) for i in range(n)]
    ct_list = [tree_map(lambda o: rand(rng, np.shape(o)), f(w, p)) for p in per]
    cts = tree_map(lambda *c: np.stack(c), *ct_list)
    loop = [vjp(f, w, p)[1](c)[0] for p, c in zip(per, ct_list)]
    total = vmap(lambda x, ct: vjp(f, w, x, reduce_axes=("b",))[1](ct)[0],
                 in_axes=(0, 0), out_axes=None, axis_name="b")(xs, cts)
    np.testing.assert_allclose(total, np.sum(loop, axis=0), rtol=1e-12, atol=1e-12)
    each = vmap(lambda x, ct: vjp(f, w, x)[1](ct)[0], in_axes=(0, 0), axis_name="b")(xs, cts)
    np.testing.assert_allclose(each, np.stack(loop), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- structure of the lowering

def test_contractions_lower_to_einsum2_without_broadcasting():
    """matmul with a broadcast batch dim and a 3-operand einsum become einsum2 equations
    only: no materialised broadcast of the smaller operand."""
    j = str(make_jaxpr(jnp.matmul)(np.ones((5, 2, 3)), np.ones((3, 4))))
    assert "einsum2" in j and "broadcast_in_dim" not in j
    j = str(make_jaxpr(lambda x, y: x @ y)(np.ones((5, 1, 2, 3)), np.ones((7, 3, 4))))
    assert "broadcast_in_dim" not in j
    j = str(make_jaxpr(lambda a, b, c: jnp.einsum("ij,jk,kl->il", a, b, c))(
        np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))))
    assert j.count("einsum2") == 2


def test_einsum_contracts_the_cheapest_pair_first():
    # (2x100) (100x100) (100x1): contracting the last pair first keeps intermediates small.
    j = str(make_jaxpr(lambda a, b, c: jnp.einsum("ij,jk,kl->il", a, b, c))(
        np.ones((2, 100)), np.ones((100, 100)), np.ones((100, 1))))
    first = next(line for line in j.splitlines() if "einsum2" in line)
    assert ":f64[100,1] = einsum2" in first, j


def test_vmap_of_concatenate_and_rev_are_single_primitives():
    j = str(make_jaxpr(vmap(lambda x, y: jnp.flip(jnp.concatenate([x, y]), 0), in_axes=(0, None)))(
        np.ones((4, 3)), np.ones(2)))
    assert j.count("concatenate") == 1 and j.count("rev") == 1


# ---------------------------------------------------------------- errors

def _raises(exc, pattern, f, *args):
    with pytest.raises(exc, match=pattern):
        f(*args)


X = np.ones((2, 3))


@pytest.mark.parametrize("exc, pattern, f", [
    (ValueError, r"concatenate.*concatenation axis 0.*\(2, 3\), \(3, 2\)", lambda: jnp.concatenate([X, X.T], axis=0)),
    (ValueError, r"zero-dimensional", lambda: jnp.concatenate([1.0, 2.0])),
    (ValueError, r"at least one array", lambda: jnp.concatenate([])),
    (TypeError, r"sequence", lambda: jnp.concatenate(X)),
    (ValueError, r"concatenate: axis 2 is out of bounds .* rank 2", lambda: jnp.concatenate([X, X], 2)),
    (ValueError, r"stack: all input arrays must have the same shape.*\(2, 3\), \(3, 2\)",
     lambda: jnp.stack([X, X.T])),
    (ValueError, r"squeeze.*axis 1 has size 3", lambda: jnp.squeeze(X, 1)),
    (ValueError, r"reshape.*\(2, 3\).*\(4, 2\)", lambda: jnp.reshape(X, (4, 2))),
    (ValueError, r"split.*equal division", lambda: jnp.split(X, 2, axis=1)),
    (ValueError, r"matmul: contraction dimension mismatch: \(2, 3\) @ \(2, 3\)", lambda: jnp.matmul(X, X)),
    (ValueError, r"matmul: operands must be at least 1-d", lambda: jnp.matmul(2.0, X)),
    (ValueError, r"matmul: batch dimensions", lambda: jnp.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 4)))),
    (ValueError, r"dot: shapes \(2, 3\) and \(2, 3\) not aligned", lambda: jnp.dot(X, X)),
    (ValueError, r"tensordot: shape mismatch", lambda: jnp.tensordot(X, X, ([0], [1]))),
    (ValueError, r"inner: last dimensions", lambda: jnp.inner(X, X.T)),
    (ValueError, r"vdot: inputs have different sizes", lambda: jnp.vdot(X, np.ones(5))),
    (ValueError, r"einsum: subscripts 'ij,jk' name 2 operands but 1", lambda: jnp.einsum("ij,jk", X)),
    (ValueError, r"einsum: subscripts 'ijk' do not match an operand of rank 2", lambda: jnp.einsum("ijk", X)),
    (ValueError, r"einsum 'ij,ij': index 'i' has sizes 2 and 3", lambda: jnp.einsum("ij,ij", X, X.T)),
    (ValueError, r"output index 'k' does not appear", lambda: jnp.einsum("ij->k", X)),
    (ValueError, r"output index 'i' appears more than once", lambda: jnp.einsum("ij->ii", X)),
    (ValueError, r"must contain '...'", lambda: jnp.einsum("...j->j", np.ones((2, 3, 4)))),
    (ValueError, r"einsum 'ii->i': index 'i' has sizes 2 and 3", lambda: jnp.einsum("ii->i", X)),
    (ValueError, r"interleaved form", lambda: jnp.einsum(X, [0, "a"])),
    (ValueError, r"transpose: axes \(0,\) do not match an array of rank 2", lambda: jnp.transpose(X, (0,))),
    (ValueError, r"transpose: repeated axis", lambda: jnp.transpose(X, (0, 0))),
    (ValueError, r"moveaxis: axis 3 is out of bounds", lambda: jnp.moveaxis(X, 3, 0)),
    (ValueError, r"flip: axis -3 is out of bounds", lambda: jnp.flip(X, -3)),
    (ValueError, r"expand_dims: axis 4 is out of bounds for an array of rank 3",
     lambda: jnp.expand_dims(X, 4)),
    (TypeError, r"swapaxes: axis must be an int", lambda: jnp.swapaxes(X, 0.5, 1)),
    (ValueError, r"pad: pad widths must be non-negative", lambda: jnp.pad(X, -1)),
    (ValueError, r"pad: pad_width .* does not fit", lambda: jnp.pad(X, ((1, 2, 3),))),
    (NotImplementedError, r"pad: mode 'mean' is not supported", lambda: jnp.pad(X, 1, mode="mean")),
    (ValueError, r"repeat: repeats must be non-negative", lambda: jnp.repeat(X, -1)),
    (ValueError, r"repeat: repeats has shape \(2,\) but axis 1 has length 3", lambda: jnp.repeat(X, [1, 2], 1)),
    (ValueError, r"tile: negative", lambda: jnp.tile(X, -2)),
])
def test_errors(exc, pattern, f):
    _raises(exc, pattern, f)


def test_traced_shape_arguments_are_refused():
    with pytest.raises(TypeError, match="repeat: repeats must be concrete"):
        vmap(lambda r: jnp.repeat(X, r))(np.array([1, 2]))
    with pytest.raises(TypeError, match="roll: shift must be concrete"):
        vmap(lambda s: jnp.roll(X, s))(np.array([1, 2]))
