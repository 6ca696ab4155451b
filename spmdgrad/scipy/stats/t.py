"""Student's t distribution, as ``jax.scipy.stats.t``.

>>> from spmdgrad.scipy.stats import t
>>> round(float(t.pdf(0.0, 1.0)), 12)   # Cauchy at 0: 1 / pi
0.318309886184
"""
from __future__ import annotations

from .. import special
from ._common import jnp, np, promote, standardize


def logpdf(x, df, loc=0, scale=1):
    """``gammaln((df+1)/2) - gammaln(df/2) - log(pi df scale**2)/2 - (df+1)/2 log1p(z**2/df)``.

    >>> round(float(logpdf(0.0, 1.0)), 12) == round(-float(np.log(np.pi)), 12)
    True
    """
    x, df, loc, scale = promote("t.logpdf", x, df, loc, scale)
    z = standardize(x, loc, scale)
    half_df = jnp.multiply(0.5, df)
    half_df1 = jnp.add(half_df, 0.5)
    norm = jnp.add(jnp.subtract(special.gammaln(half_df), special.gammaln(half_df1)),
                   jnp.multiply(0.5, jnp.log(jnp.multiply(jnp.multiply(np.pi, df), jnp.square(scale)))))
    return jnp.negative(jnp.add(norm, jnp.multiply(half_df1, jnp.log1p(jnp.divide(jnp.square(z), df)))))


def pdf(x, df, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> round(float(pdf(0.0, 1e8)), 8)   # close to the normal density at 0
    0.39894228
    """
    return jnp.exp(logpdf(x, df, loc, scale))
