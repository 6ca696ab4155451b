"""Elementwise primitives and their rules.

Strict: operands have one dtype and equal shapes, except that a 0-d operand
broadcasts (so constants such as ``2.0`` never get materialised at full size).
NumPy broadcasting and promotion happen in :mod:`spmdgrad.numpy`.
Each primitive's impl, JVP and batching rule are defined on one line each.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching, core
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..dtypes import real_dtype
from .structural import broadcast_batch, broadcast_in_dim, reduce_sum


def _shape_of(*avals, name="elementwise primitive"):
    shapes = {a.shape for a in avals if a.shape != ()}
    if len(shapes) > 1:
        raise ValueError(f"{name}: operands have shapes {[a.shape for a in avals]}; the "
                         "primitive needs equal shapes or 0-d operands (spmdgrad.numpy "
                         "broadcasts for you)")
    return shapes.pop() if shapes else ()


def _same_dtype(name, avals):
    dts = {a.dtype for a in avals}
    if len(dts) > 1:
        raise TypeError(f"{name}: operands have dtypes {[a.dtype.name for a in avals]}; "
                        "the primitive needs one dtype (spmdgrad.numpy promotes for you)")
    return avals[0].dtype


def _batch_elementwise(prim):
    def rule(size, vals, batched, **params):
        ufunc = _eager_ufunc(prim, vals, params)
        if ufunc is not None:
            # Eager: apply the impl (a ufunc) as the evaluation trace would, without a bind.
            # NumPy broadcasts an unbatched operand itself; a batched one that is 0-d per
            # instance needs only a keepdims view. No broadcast is materialised.
            if len(vals) == 1:
                return ufunc(vals[0]), True
            shapes = [v.shape for v in vals]
            if len(vals) == 2 and _no_broadcast(shapes, batched):
                return ufunc(vals[0], vals[1]), True
            shape = _shape_of(*[ShapedRest(v, b) for v, b in zip(vals, batched)])
            return ufunc(*[v.reshape(s[:1] + (1,) * len(shape)) if b and s[1:] != shape else v
                           for v, s, b in zip(vals, shapes, batched)]), True
        if len(vals) == 1:  # fast path: a unary op on a batched value
            return prim.bind(vals[0], **params), True
        if len(vals) == 2:  # fast path: equal shapes, or an unbatched 0-d operand
            shapes = [get_aval(vals[0]).shape, get_aval(vals[1]).shape]
            if _no_broadcast(shapes, batched):
                return prim.bind(vals[0], vals[1], **params), True
        avals = [get_aval(v) for v in vals]
        shape = _shape_of(*[ShapedRest(a, b) for a, b in zip(avals, batched)])
        out = []
        for v, a, b in zip(vals, avals, batched):
            if b:
                if a.shape[1:] != shape:
                    v = broadcast_in_dim(v, (size,) + shape, (0,))
            elif a.shape != ():
                v = broadcast_batch(v, size)
            out.append(v)
        return prim.bind(*out, **params), True
    batching.batch_rules[prim] = rule


def _no_broadcast(shapes, batched):
    """Two operands the primitive takes as they are: equal shapes, or an unbatched 0-d one."""
    return ((batched[0] and batched[1] and shapes[0] == shapes[1])
            or (not batched[0] and shapes[0] == ()) or (not batched[1] and shapes[1] == ()))


def _eager_ufunc(prim, vals, params):
    """``prim``'s ufunc if the batching rule runs on concrete arrays (the parent is the
    evaluation trace), else None."""
    if params or type(core._state.trace) is not core.EvalTrace:
        return None
    ufunc = core.ufunc_impl(prim)
    if ufunc is None or ufunc.nout != 1:
        return None
    for v in vals:
        if type(v) is not np.ndarray and not isinstance(v, np.generic):
            return None
    return ufunc


class ShapedRest:
    """The per-example shape of an operand (drop the batch axis if batched)."""
    __slots__ = ("shape",)

    def __init__(self, aval, batched):
        self.shape = aval.shape[1:] if batched else aval.shape


def elementwise(name, impl, *, dtype_rule=None, prim=None):
    """Define an elementwise primitive: impl, shape/dtype rule and batching rule.
    ``prim``: a primitive declared elsewhere (core's add_any_p) to give these rules."""
    prim = Primitive(name) if prim is None else prim
    impl_rules[prim] = impl

    def abstract(*avals, **params):
        a0 = avals[0]
        dt, shape = a0.dtype, a0.shape
        for a in avals[1:]:  # fast path: one dtype, one shape
            if a.dtype != dt or a.shape != shape:
                dt = _same_dtype(name, avals)
                shape = _shape_of(*avals, name=name)
                break
        return shape, (dt if dtype_rule is None else dtype_rule(dt, **params))
    abstract_rules[prim] = abstract
    _batch_elementwise(prim)
    return prim


def _unbroadcast(ct, aval):
    """Transposes of scalar broadcasting: sum ``ct`` down to a 0-d operand."""
    if aval.shape == () and get_aval(ct).shape != ():
        return reduce_sum(ct, tuple(range(get_aval(ct).ndim)))
    return ct


_bool = lambda dt, **_: np.dtype(bool)  # noqa: E731
_real = lambda dt, **_: real_dtype(dt)  # noqa: E731

# ---------------------------------------------------------------- arithmetic
# add is core's add_any_p: the backward pass accumulates cotangents with it.
add_p = elementwise("add", np.add, prim=core.add_any_p)
sub_p = elementwise("sub", np.subtract)
mul_p = elementwise("mul", np.multiply)
div_p = elementwise("div", np.true_divide)
neg_p = elementwise("neg", np.negative)


def add(x, y): return add_p.bind(x, y)
def sub(x, y): return sub_p.bind(x, y)
def mul(x, y): return mul_p.bind(x, y)
def div(x, y): return div_p.bind(x, y)
def neg(x): return neg_p.bind(x)
def pow(x, y): return pow_p.bind(x, y)  # noqa: A001
def maximum(x, y): return max_p.bind(x, y)
def minimum(x, y): return min_p.bind(x, y)


add_any = add


def _lin_transpose(sign_y):
    def transpose(ct, x, y):
        cx = _unbroadcast(ct, x.aval) if ad.is_undefined(x) else None
        cy = None
        if ad.is_undefined(y):
            cy = _unbroadcast(ct if sign_y > 0 else neg(ct), y.aval)
        return [cx, cy]
    return transpose


def _add_jvp(primals, tangents):
    tx, ty = tangents
    ans = ad.primal(add_p, primals, {})
    if tx is None:
        return ans, _fit(ty, ans)
    if ty is None:
        return ans, _fit(tx, ans)
    return ans, add(tx, ty)


def _sub_jvp(primals, tangents):
    tx, ty = tangents
    ans = ad.primal(sub_p, primals, {})
    if ty is None:
        return ans, _fit(tx, ans)
    if tx is None:
        return ans, _fit(neg(ty), ans)
    return ans, sub(tx, ty)


def _fit(t, ans):
    """A tangent of a 0-d operand, broadcast to the (possibly larger) output."""
    shape = get_aval(ans).shape
    if get_aval(t).shape == shape:
        return t
    return broadcast_in_dim(t, shape, ())


ad.jvp_rules[add_p] = _add_jvp
ad.transpose_rules[add_p] = _lin_transpose(+1)
ad.jvp_rules[sub_p] = _sub_jvp
ad.transpose_rules[sub_p] = _lin_transpose(-1)
ad.deflinear(neg_p, lambda ct, x: [neg(ct)])
ad.defbilinear(mul_p, lambda ct, x, y: _unbroadcast(mul(ct, y), x.aval),
               lambda ct, x, y: _unbroadcast(mul(x, ct), y.aval))


def _mul_into(out, ct, x, y):
    # The gradient buckets' destination: the transpose's product, written in place
    # (only when it needs no unbroadcast: ct already has the operand's shape).
    if ct.shape != out.shape or ct.dtype != out.dtype:
        return False
    if x is None:
        np.multiply(ct, y, out=out)
    else:
        np.multiply(x, ct, out=out)
    return True


ad.transpose_into_rules[mul_p] = _mul_into
ad.defjvp(div_p, lambda t, ans, x, y: _fit(div(t, y), ans),
          lambda t, ans, x, y: _fit(neg(mul(t, div(ans, y))), ans))
ad.transpose_rules[div_p] = lambda ct, x, y: [_unbroadcast(div(ct, y), x.aval), None]


# ---------------------------------------------------------------- pow
pow_p = elementwise("pow", np.power)


def _pow_dx(t, ans, x, y):
    # y * x**(y-1). Only at x == y == 0 is it 0 * inf; it is taken as 0 there (x**0 is
    # constant), with x replaced by 1 so no inf reaches a derivative. Elsewhere the factor is
    # kept whole, so its y-derivative gives d2/dxdy x**y = 1/x at y == 0 (JAX's value).
    one = np.ones((), get_aval(y).dtype)
    zero_zero = and_p.bind(eq(y, _fill(y, 0)), eq(x, _fill(x, 0)))
    safe_x = select_n(zero_zero, x, _fill(x, 1))
    d = mul(y, pow(safe_x, sub(y, one)))
    d = select_n(zero_zero, d, _fill(d, 0))
    return _fit(mul(t, d), ans)


def _pow_dy(t, ans, x, y):
    # d/dy x**y = log(x) x**y; defined as 0 where x == 0 (JAX's convention).
    is_zero = eq(x, np.zeros((), get_aval(x).dtype))
    safe_x = select_n(is_zero, x, _fill(x, 1))
    logx = select_n(is_zero, log(safe_x), _fill(x, 0))
    return _fit(mul(t, mul(logx, ans)), ans)


def _fill(x, value):
    a = get_aval(x)
    return np.full(a.shape, value, a.dtype)


ad.defjvp(pow_p, _pow_dx, _pow_dy)


# ---------------------------------------------------------------- max, min, rem, floor_divide
max_p = elementwise("max", np.maximum)
min_p = elementwise("min", np.minimum)
rem_p = elementwise("rem", np.remainder)
floor_divide_p = elementwise("floor_divide", np.floor_divide)


def _minmax_jvp(cmp):
    # Ties split the derivative evenly between the two operands.
    def dx(t, ans, x, y):
        return _fit(mul(t, _weight(cmp, x, y)), ans)

    def dy(t, ans, x, y):
        return _fit(mul(t, _weight(cmp, y, x)), ans)
    return dx, dy


def _tie_weight_impl(a, b, greater):
    w = (np.greater(a, b) if greater else np.less(a, b)).astype(np.result_type(a, b))
    ties = np.equal(a, b)
    if np.count_nonzero(ties):  # a C call; ndarray.any goes through a Python wrapper
        w = np.where(ties, np.asarray(0.5, w.dtype), w)
    return w


# The derivative weight of max/min: 1 where a wins, 1/2 on ties, else 0. One
# primitive (piecewise constant, zero derivative) instead of four passes.
gt_weight_p = elementwise("gt_weight", lambda a, b: _tie_weight_impl(a, b, True))
lt_weight_p = elementwise("lt_weight", lambda a, b: _tie_weight_impl(a, b, False))
for _p in (gt_weight_p, lt_weight_p):
    ad.defjvp(_p, lambda t, ans, a, b: None, lambda t, ans, a, b: None)


def _weight(prim, a, b):
    return prim.bind(a, b)


ad.defjvp(max_p, *_minmax_jvp(gt_weight_p))
ad.defjvp(min_p, *_minmax_jvp(lt_weight_p))
ad.defjvp(rem_p, lambda t, ans, x, y: _fit(t, ans),
          lambda t, ans, x, y: _fit(mul(t, neg(floor(div(x, y)))), ans))
# floor(x / y) is piecewise constant: its derivative is zero almost everywhere.
ad.defjvp(floor_divide_p, lambda t, ans, x, y: None, lambda t, ans, x, y: None)

# ---------------------------------------------------------------- unary math

def _scale_jvp(prim, factor, divide=False):
    """``t * factor(ans, x)`` (or ``t / factor``): the factor is computed one level down,
    with that trace current, so only the product with the tangent is recorded."""
    def primal_part(x, params):
        ans = prim.bind(x, **params)
        return ans, factor(ans, x)

    def rule(primals, tangents, **params):
        t, = tangents
        ans, f = ad.on_primals(primal_part, primals[0], params)
        return ans, (div(t, f) if divide else mul(t, f))
    ad.jvp_rules[prim] = rule


def unary(name, impl, factor, divide=False):
    """An elementwise primitive whose derivative is ``factor(ans, x)`` (or its reciprocal
    with ``divide``): the primitive and its JVP in one line."""
    prim = elementwise(name, impl)
    _scale_jvp(prim, factor, divide)
    return prim


_ONES: dict = {}


def _one(x):
    # One read-only 0-d constant per dtype: derivative factors need it on every call.
    dt = get_aval(x).dtype
    one = _ONES.get(dt)
    if one is None:
        one = _ONES[dt] = np.ones((), dt)
        one.flags.writeable = False
    return one


def _sq(x):
    return mul(x, x)


def _logistic(x):
    # Stable for large |x| in both directions.
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1 + ex)
    return out if np.ndim(x) else out[()]


exp_p = unary("exp", np.exp, lambda ans, x: ans)
log_p = unary("log", np.log, lambda ans, x: x, divide=True)
log1p_p = unary("log1p", np.log1p, lambda ans, x: add(x, _one(x)), divide=True)
expm1_p = unary("expm1", np.expm1, lambda ans, x: add(ans, _one(x)))
sqrt_p = unary("sqrt", np.sqrt, lambda ans, x: mul(ans, np.asarray(2, get_aval(x).dtype)), divide=True)
sin_p = unary("sin", np.sin, lambda ans, x: cos(x))
cos_p = unary("cos", np.cos, lambda ans, x: neg(sin(x)))
tan_p = unary("tan", np.tan, lambda ans, x: add(_one(x), _sq(ans)))
asin_p = unary("asin", np.arcsin, lambda ans, x: sqrt(sub(_one(x), _sq(x))), divide=True)
acos_p = unary("acos", np.arccos, lambda ans, x: neg(sqrt(sub(_one(x), _sq(x)))), divide=True)
atan_p = unary("atan", np.arctan, lambda ans, x: add(_one(x), _sq(x)), divide=True)
sinh_p = unary("sinh", np.sinh, lambda ans, x: cosh_p.bind(x))
cosh_p = unary("cosh", np.cosh, lambda ans, x: sinh_p.bind(x))
tanh_p = unary("tanh", np.tanh, lambda ans, x: sub(_one(x), _sq(ans)))
asinh_p = unary("asinh", np.arcsinh, lambda ans, x: sqrt(add(_sq(x), _one(x))), divide=True)
acosh_p = unary("acosh", np.arccosh, lambda ans, x: sqrt(mul(sub(x, _one(x)), add(x, _one(x)))),
                divide=True)
atanh_p = unary("atanh", np.arctanh, lambda ans, x: sub(_one(x), _sq(x)), divide=True)
logistic_p = unary("logistic", _logistic, lambda ans, x: mul(ans, sub(_one(x), ans)))
atan2_p = elementwise("atan2", np.arctan2)
abs_p = elementwise("abs", np.abs, dtype_rule=_real)
sign_p = elementwise("sign", np.sign)
floor_p = elementwise("floor", np.floor)
ceil_p = elementwise("ceil", np.ceil)
round_p = elementwise("round", np.round)


def exp(x): return exp_p.bind(x)
def log(x): return log_p.bind(x)
def sqrt(x): return sqrt_p.bind(x)
def sin(x): return sin_p.bind(x)
def cos(x): return cos_p.bind(x)
def floor(x): return floor_p.bind(x)


ad.defjvp(atan2_p,
          lambda t, ans, x, y: _fit(mul(t, div(y, add(_sq(x), _sq(y)))), ans),
          lambda t, ans, x, y: _fit(mul(t, neg(div(x, add(_sq(x), _sq(y))))), ans))


def _abs_jvp(t, ans, x):
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        # d|x| = Re(conj(x) t) / |x|, 0 at x == 0.
        safe = select_n(eq(ans, _fill(ans, 0)), ans, _fill(ans, 1))
        return div(real(mul(conj(x), t)), safe)
    return mul(t, sign_p.bind(x))


def _sign_jvp(t, ans, x):
    if not np.issubdtype(get_aval(x).dtype, np.complexfloating):
        return None  # piecewise constant: zero almost everywhere
    # sign(z) = z / |z|: d sign = (t - sign * Re(conj(sign) t)) / |z|, taken as 0 at z == 0.
    r = abs_p.bind(x)
    is_zero = eq(r, _fill(r, 0))
    safe_r = select_n(is_zero, r, _fill(r, 1))
    radial = convert_element_type(real(mul(conj(ans), t)), get_aval(x).dtype)
    d = div(sub(t, mul(ans, radial)), convert_element_type(safe_r, get_aval(x).dtype))
    return select_n(is_zero, d, _fill(d, 0))


ad.defjvp(abs_p, _abs_jvp)
ad.defjvp(sign_p, _sign_jvp)
for _p in (floor_p, ceil_p, round_p):
    ad.defjvp(_p, lambda t, ans, x: None)  # piecewise constant: zero almost everywhere

# ---------------------------------------------------------------- complex parts (linear)
real_p = elementwise("real", np.real, dtype_rule=_real)
imag_p = elementwise("imag", np.imag, dtype_rule=_real)
conj_p = elementwise("conj", np.conj)
complex_p = elementwise("complex", lambda x, y: x + 1j * y,
                        dtype_rule=lambda dt: np.result_type(dt, np.complex64))


def real(x): return real_p.bind(x)
def imag(x): return imag_p.bind(x)
def conj(x): return conj_p.bind(x)
def complex(x, y): return complex_p.bind(x, y)  # noqa: A001


def _to_complex(ct, aval, scale):
    """Cotangent of a real part (scale 1) or imaginary part (scale -1j) of ``aval``."""
    zero = np.zeros((), get_aval(ct).dtype)
    c = complex(ct, _zero_like_shape(ct, zero)) if scale == 1 else complex(_zero_like_shape(ct, zero), neg(ct))
    return convert_element_type(c, aval.dtype)


def _zero_like_shape(ct, zero):
    return zero if get_aval(ct).shape == () else _fill(ct, 0)


ad.deflinear(real_p, lambda ct, x: [_to_complex(ct, x.aval, 1)])
ad.deflinear(imag_p, lambda ct, x: [_to_complex(ct, x.aval, -1j)])
ad.deflinear(conj_p, lambda ct, x: [conj(ct)])
ad.deflinear(complex_p, lambda ct, x, y: [
    _unbroadcast(real(ct), x.aval) if ad.is_undefined(x) else None,
    _unbroadcast(neg(imag(ct)), y.aval) if ad.is_undefined(y) else None])

# ---------------------------------------------------------------- comparisons, logic, select
eq_p = elementwise("eq", np.equal, dtype_rule=_bool)
ne_p = elementwise("ne", np.not_equal, dtype_rule=_bool)
lt_p = elementwise("lt", np.less, dtype_rule=_bool)
le_p = elementwise("le", np.less_equal, dtype_rule=_bool)
gt_p = elementwise("gt", np.greater, dtype_rule=_bool)
ge_p = elementwise("ge", np.greater_equal, dtype_rule=_bool)
and_p = elementwise("and", np.logical_and, dtype_rule=_bool)
or_p = elementwise("or", np.logical_or, dtype_rule=_bool)
xor_p = elementwise("xor", np.logical_xor, dtype_rule=_bool)
not_p = elementwise("not", np.logical_not, dtype_rule=_bool)
isfinite_p = elementwise("isfinite", np.isfinite, dtype_rule=_bool)
isnan_p = elementwise("isnan", np.isnan, dtype_rule=_bool)
isinf_p = elementwise("isinf", np.isinf, dtype_rule=_bool)


def _nondiff_jvp(prim):
    # Boolean outputs carry no tangent: the derivative is dropped, never approximated.
    def rule(primals, tangents, **params):
        return prim.bind(*primals, **params), None
    ad.jvp_rules[prim] = rule


for _p in (eq_p, ne_p, lt_p, le_p, gt_p, ge_p, and_p, or_p, xor_p, not_p,
           isfinite_p, isnan_p, isinf_p):
    _nondiff_jvp(_p)


def eq(x, y): return eq_p.bind(x, y)
def gt(x, y): return gt_p.bind(x, y)
def lt(x, y): return lt_p.bind(x, y)


select_n_p = Primitive("select_n")
impl_rules[select_n_p] = lambda pred, x, y: np.where(pred, y, x)


def _select_abstract(pred, x, y):
    _same_dtype("select_n", [x, y])
    return _shape_of(pred, x, y), x.dtype


abstract_rules[select_n_p] = _select_abstract
_batch_elementwise(select_n_p)


def select_n(pred, x, y):
    """``y`` where ``pred`` else ``x`` (operands 0-d or one shape)."""
    return select_n_p.bind(pred, x, y)


def _select_jvp(primals, tangents):
    pred, x, y = primals
    _, tx, ty = tangents
    ans = ad.primal(select_n_p, primals, {})
    return ans, select_n(pred, _fit(tx, ans) if tx is not None else _fill(ans, 0),
                         _fit(ty, ans) if ty is not None else _fill(ans, 0))


def _select_transpose(ct, pred, x, y):
    zero = _fill(ct, 0)
    return [None,
            _unbroadcast(select_n(pred, ct, zero), x.aval) if ad.is_undefined(x) else None,
            _unbroadcast(select_n(pred, zero, ct), y.aval) if ad.is_undefined(y) else None]


ad.jvp_rules[select_n_p] = _select_jvp
ad.transpose_rules[select_n_p] = _select_transpose

# ---------------------------------------------------------------- dtype conversion
convert_element_type_p = Primitive("convert_element_type")
impl_rules[convert_element_type_p] = lambda x, new_dtype: np.asarray(x).astype(new_dtype)
abstract_rules[convert_element_type_p] = lambda x, new_dtype: (x.shape, new_dtype)
batching.batch_rules[convert_element_type_p] = (
    lambda size, vals, batched, new_dtype: (convert_element_type(vals[0], new_dtype), True))


def convert_element_type(x, new_dtype):
    new_dtype = np.dtype(new_dtype)
    if get_aval(x).dtype == new_dtype:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype)


def _convert_jvp(primals, tangents, new_dtype):
    x, = primals
    t, = tangents
    ans = convert_element_type(x, new_dtype)
    old = get_aval(x).dtype
    if not (np.issubdtype(new_dtype, np.inexact) and np.issubdtype(old, np.inexact)):
        return ans, None
    if np.issubdtype(old, np.complexfloating) and not np.issubdtype(new_dtype, np.complexfloating):
        return ans, convert_element_type(real(t), new_dtype)
    return ans, convert_element_type(t, new_dtype)


def _convert_transpose(ct, x, new_dtype):
    old = x.aval.dtype
    if np.issubdtype(new_dtype, np.complexfloating) and not np.issubdtype(old, np.complexfloating):
        ct = real(ct)
    return [convert_element_type(ct, old)]


ad.jvp_rules[convert_element_type_p] = _convert_jvp
ad.transpose_rules[convert_element_type_p] = _convert_transpose
