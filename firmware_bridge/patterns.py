"""Buzzer and light-stack patterns, one per situation, distinct by ear and by eye.

| pattern        | buzzer                          | red      | amber    | green  |
|----------------|---------------------------------|----------|----------|--------|
| off            | silent                          | off      | off      | steady |
| dose_rate      | 200 ms on / 200 ms off          | flashing | off      | off    |
| trigger        | three 100 ms beeps every 2 s    | off      | steady   | off    |
| monitor_lost   | 1 s on / 1 s off                | off      | flashing | off    |
| acknowledged   | silent                          | steady   | off      | off    |

Green steady means "the agent is talking to the board and nothing is alarming"; no green means look.
`monitor_lost` is also the board's own safe state when the agent goes silent (agent.py: Bridge).
"""

OFF, STEADY, FLASH = 0, 1, 2

# name: (period ms, buzzer on-spans within the period, red, amber, green)
PATTERNS = {
    "off": (1000, (), OFF, OFF, STEADY),
    "dose_rate": (400, ((0, 200),), FLASH, OFF, OFF),
    "trigger": (2000, ((0, 100), (200, 300), (400, 500)), OFF, STEADY, OFF),
    "monitor_lost": (2000, ((0, 1000),), OFF, FLASH, OFF),
    "acknowledged": (1000, (), STEADY, OFF, OFF),
}


def _light(mode: int, phase: int, period: int) -> int:
    if mode == FLASH:
        return 1 if phase < period // 2 else 0
    return 1 if mode == STEADY else 0


def outputs(name: str, t_ms: int, muted: bool = False) -> tuple[int, int, int, int]:
    """(buzzer, red, amber, green) for pattern `name` at time `t_ms`; `muted` silences the buzzer."""
    period, spans, red, amber, green = PATTERNS[name]
    phase = t_ms % period
    buzzer = 0
    if not muted:
        for start, end in spans:
            if start <= phase < end:
                buzzer = 1
    return buzzer, _light(red, phase, period), _light(amber, phase, period), _light(green, phase, period)
