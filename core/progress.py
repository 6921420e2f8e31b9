"""Progress for operators: a tqdm bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from typing import TextIO

from tqdm import tqdm


class CommandProgress:
    """``update(n)`` adds n done; ``close()`` ends. Lines every 10 % or 5 s."""

    def __init__(self, stream: TextIO, *, total: int | None, desc: str) -> None:
        self.total = total
        self.desc = desc
        self.done = 0
        self.stream = stream
        self._bar = None
        is_tty = getattr(stream, "isatty", lambda: False)()
        if is_tty:
            self._bar = tqdm(total=total, desc=desc, file=stream, unit="row")
        self._last_time = time.monotonic()
        self._last_step = -1
        self._printed = -1

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        step = self.done * 10 // self.total if self.total else -1
        now = time.monotonic()
        if step > self._last_step or now - self._last_time >= 5:
            self._last_step, self._last_time = step, now
            self._line()

    def _line(self) -> None:
        self._printed = self.done
        if self.total:
            percent = self.done * 100 // self.total
            self.stream.write(f"{self.desc}: {self.done}/{self.total} ({percent}%)\n")
        else:
            self.stream.write(f"{self.desc}: {self.done}\n")
        self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._printed != self.done:
            self._line()
