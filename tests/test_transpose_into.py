"""Transpose-into rules (``ad.transpose_into_rules``): the gradient buckets let the
equation that produces an input's final cotangent write it straight into the bucket.
Each rule must give the bits of its primitive's transpose rule, or decline (False)
and leave ``out`` alone."""
import numpy as np
import pytest

from spmdgrad import ad, core
from spmdgrad.primitives.contraction import einsum2_p
from spmdgrad.primitives.elementwise import mul_p
from spmdgrad.primitives.structural import broadcast_in_dim_p


def undefined(x):
    return ad.UndefinedPrimal(core.get_aval(x))


def into(prim, like, ct, *operands, **params):
    out = np.full(like.shape, np.nan, like.dtype)
    done = ad.transpose_into_rules[prim](out, ct, *operands, **params)
    return done, out


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


SPECS = [
    ("Zk,kn->Zn", (5, 7), (7, 3)), ("Zn,Zk->kn", (5, 3), (5, 7)), ("Zn,kn->Zk", (5, 3), (7, 3)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)), ("bij,bjk->bki", (2, 3, 4), (2, 4, 5)),
    ("ij,kj->ik", (3, 4), (5, 4)), ("ji,jk->ik", (4, 3), (4, 5)), ("abc,cd->dab", (2, 3, 4), (4, 5)),
    ("bn,bk->bkn", (3, 4), (3, 5)), ("i,i->", (6,), (6,)), ("ij,jk->ki", (3, 4), (4, 5)),
    ("bi,ij->bj", (64, 30), (30, 20)),
    ("kbi,bjk->bij", (5, 2, 3), (2, 4, 5)),   # x's cotangent would need a transposed matmul
]


@pytest.mark.parametrize("spec, xshape, yshape", SPECS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_einsum2_into_gives_the_transpose_bits(spec, xshape, yshape, dtype):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(xshape).astype(dtype), rng.standard_normal(yshape).astype(dtype)
    ct = rng.standard_normal(core.impl_rules[einsum2_p](x, y, spec=spec).shape).astype(dtype)
    rule = ad.transpose_rules[einsum2_p]
    for side, target in ((0, x), (1, y)):
        ops = (undefined(x), y) if side == 0 else (x, undefined(y))
        want = np.asarray(rule(ct, *ops, spec=spec)[side])
        args = (None, y) if side == 0 else (x, None)
        done, out = into(einsum2_p, target, ct, *args, spec=spec)
        if done:
            assert same_bits(out, want), (spec, side)
        else:   # declined: out untouched
            assert np.isnan(out).all()


def test_einsum2_into_takes_the_common_weight_gradients():
    # A dense layer's weight gradient (x.T @ ct) and its input's both go straight in.
    took = []
    rng = np.random.default_rng(0)
    for spec, xshape, yshape in SPECS:
        x, y = rng.standard_normal(xshape), rng.standard_normal(yshape)
        ct = rng.standard_normal(core.impl_rules[einsum2_p](x, y, spec=spec).shape)
        took.append(into(einsum2_p, y, ct, x, None, spec=spec)[0])
    assert sum(took) >= 8 and took[-2]


def test_einsum2_into_declines_a_transposed_result():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4, 5))
    ct = rng.standard_normal((2, 3, 4))
    done, out = into(einsum2_p, x, ct, None, y, spec="kbi,bjk->bij")
    assert not done and np.isnan(out).all()


@pytest.mark.parametrize("yshape", [(4, 5), ()])
def test_mul_into_gives_the_transpose_bits(yshape):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 5)), rng.standard_normal(yshape)
    ct = rng.standard_normal((4, 5))
    rule = ad.transpose_rules[mul_p]
    done, out = into(mul_p, x, ct, None, y)
    assert done and same_bits(out, np.asarray(rule(ct, undefined(x), y)[0]))
    if yshape:
        done, out = into(mul_p, y, ct, x, None)
        assert done and same_bits(out, np.asarray(rule(ct, x, undefined(y))[1]))
    else:   # a 0-d operand's cotangent is a sum of the products: declined
        done, out = into(mul_p, y, ct, x, None)
        assert not done and np.isnan(out).all()


def test_mul_into_declines_another_dtype():
    ct = np.ones(3, np.float32)
    done, out = into(mul_p, np.zeros(3), ct, None, np.ones(3, np.float32))
    assert not done and np.isnan(out).all()


@pytest.mark.parametrize("in_shape, shape, dims", [
    ((5,), (4, 5), (1,)), ((4, 1), (4, 6), (0, 1)), ((), (3, 2), ()), ((3,), (3, 2, 4), (0,)),
    ((2, 3), (2, 3), (0, 1)),
])
def test_broadcast_in_dim_into_gives_the_transpose_bits(in_shape, shape, dims):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(in_shape)
    ct = rng.standard_normal(shape)
    want = np.asarray(ad.transpose_rules[broadcast_in_dim_p](ct, undefined(x), shape=shape,
                                                             broadcast_dimensions=dims)[0])
    done, out = into(broadcast_in_dim_p, np.asarray(x), ct, None, shape=shape, broadcast_dimensions=dims)
    assert done and same_bits(out, want)
