"""DP-SGD on digits; kept so the documented command works from a checkout.

    spmdrun -n 2 launch/dpsgd.py

The program is spmdgrad.examples.dpsgd, shipped with the package, so from any
directory: spmdrun -n 2 -m spmdgrad.examples.dpsgd
"""
from spmdgrad.examples.dpsgd import main

if __name__ == "__main__":
    main()
