"""``spmdgrad.numpy.linalg``: inv, solve, det, slogdet, cholesky, norm."""
