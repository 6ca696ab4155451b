"""Data-parallel MLP on digits; kept so the README's command works from a checkout.

    spmdrun -n 2 launch/train_digits.py

The program is spmdgrad.examples.train_digits, shipped with the package, so from
any directory: spmdrun -n 2 -m spmdgrad.examples.train_digits
"""
from spmdgrad.examples.digits import init_params, load, mlp  # noqa: F401  (used by dpsgd.py)
from spmdgrad.examples.train_digits import main

if __name__ == "__main__":
    main()
