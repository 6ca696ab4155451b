"""Runnable demos, shipped with the package so they work from any directory:

    spmdrun -n 2 -m spmdgrad.examples.train_digits      # data-parallel MLP on digits
    spmdrun -n 2 -m spmdgrad.examples.dpsgd             # DP-SGD: per-example clipping
    python -m spmdgrad.examples.train_digits --epochs 5  # one process, same program

They need the ``demo`` extra (scikit-learn for the data set; tqdm for a live
progress bar on a terminal): ``pip install 'spmdgrad[demo]'``.
"""
