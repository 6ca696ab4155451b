"""The op chain shared by bench_overhead.py and its peer scripts (library-agnostic).

``chain(np_, x, n)`` applies ``n`` elementwise ops (a cycle of sin, multiply by a
scalar, add a scalar, tanh) and returns the sum, so it is a valid grad target.
"""
N_OPS = 100


def elementwise_chain(np_, x, n=N_OPS):
    for _ in range(n // 4):
        x = np_.sin(x)
        x = x * 0.9
        x = x + 0.1
        x = np_.tanh(x)
    return x


def chain(np_, x, n=N_OPS):
    return np_.sum(elementwise_chain(np_, x, n))


def single(np_, x):
    return np_.sum(np_.sin(x))
