"""Debounce of a digital input (the opto-isolated X-ray-on line, the mode input, the acknowledge button).

A new level counts once it has held for `stable_ms`; the edge is time-stamped when the level first
changed, not when it was confirmed, so beam-on and beam-off times are not late by the debounce
time. Bounces shorter than `stable_ms` (relay contacts, a noisy lamp line) never make an edge.
Pure: the caller passes the sampled level and the time (milliseconds, monotonic, never wrapping).
"""


class Debouncer:
    def __init__(self, stable_ms: int, level: int = 0) -> None:
        self.stable_ms = stable_ms
        self.level = level  # the confirmed level
        self._candidate = level
        self._since_ms = -1  # when the candidate level was first seen; -1: no candidate

    def update(self, level: int, now_ms: int) -> tuple[int, int] | None:
        """Feed one sample; (new level, time it first appeared) when a change is confirmed."""
        level = 1 if level else 0
        if level == self.level:
            self._since_ms = -1
            self._candidate = level
            return None
        if self._since_ms < 0 or level != self._candidate:
            self._candidate = level
            self._since_ms = now_ms
        if now_ms - self._since_ms >= self.stable_ms:
            self.level = level
            since = self._since_ms
            self._since_ms = -1
            return level, since
        return None
