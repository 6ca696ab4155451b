"""Progress of a training loop that reads well both live and in a log file.

On an interactive terminal rank 0 draws a live tqdm bar. Anywhere else (output
piped to a file, a batch scheduler, a CI log) it prints plain lines, at the end
of each epoch and at most every ``every`` seconds, with no carriage returns.
Under ``spmdrun`` a rank's own stdout is always a pipe, so the launcher tells
the ranks in ``SPMDRUN_TTY`` whether its own output is a terminal.

>>> import io
>>> out = io.StringIO()
>>> p = Progress(4, steps_per_epoch=2, stream=out, live=False)
>>> for step in range(4):
...     p.update(loss=0.5)
>>> p.close()
>>> print(out.getvalue().strip())
epoch 1/2  step 2/4  loss 0.5000
epoch 2/2  step 4/4  loss 0.5000
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from spmdgrad.launcher import TTY_VARIABLE  # "SPMDRUN_TTY", set by spmdrun


def interactive() -> bool:
    """Whether a person watches this output live: ``SPMDRUN_TTY`` when spmdrun set it,
    else whether stdout and stderr are terminals."""
    flag = os.environ.get(TTY_VARIABLE)
    if flag is not None:
        return flag.strip() == "1"
    return sys.stdout.isatty() and sys.stderr.isatty()


class Progress:
    """Counts ``total`` steps of ``steps_per_epoch`` each; ``update(**stats)`` after
    each step, with the latest statistics (e.g. ``loss=...``) to show.

    ``enabled=False`` (e.g. on ranks other than 0) prints nothing. ``live``
    forces the bar on or off (default: :func:`interactive` and tqdm installed).
    """

    def __init__(self, total: int, steps_per_epoch: int, *, enabled: bool = True,
                 live: bool | None = None, every: float = 30.0, stream: TextIO | None = None,
                 desc: str = "train") -> None:
        self.total, self.steps_per_epoch, self.every = total, steps_per_epoch, every
        self.enabled, self.stream = enabled, stream if stream is not None else sys.stdout
        self.step = 0
        self.stats: dict[str, object] = {}
        self._last = time.monotonic()
        self._bar: Any = None
        if enabled and (interactive() if live is None else live):
            try:
                from tqdm import tqdm
            except ImportError:   # no tqdm: plain lines, as in a log
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, unit="step")

    def _format(self) -> str:
        epochs = -(-self.total // self.steps_per_epoch)
        epoch = -(-self.step // self.steps_per_epoch)
        stats = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in self.stats.items())
        return f"epoch {epoch}/{epochs}  step {self.step}/{self.total}  {stats}".rstrip()

    def update(self, **stats: object) -> None:
        """One step done; ``stats`` are shown with the next line (or on the bar)."""
        self.step += 1
        self.stats.update(stats)
        if not self.enabled:
            return
        end_of_epoch = self.step % self.steps_per_epoch == 0 or self.step == self.total
        if self._bar is not None:
            self._bar.update(1)
            if end_of_epoch and self.stats:
                self._bar.set_postfix({k: f"{v:.4f}" if isinstance(v, float) else v
                                       for k, v in self.stats.items()})
            return
        now = time.monotonic()
        if end_of_epoch or now - self._last >= self.every:
            self._last = now
            print(self._format(), file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
