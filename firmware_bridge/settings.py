"""The board's configuration: edit the defaults here before flashing (docs/firmware.md), or pass
keywords (the simulator and the tests do). The board reports all of it in its HELLO frame, so the
agent records what the board actually runs with."""

FIRMWARE_VERSION = "1.0.0"


class Settings:
    def __init__(
        self,
        window_ms: int = 1000,  # pulse-counting window
        mgy_min_per_cps: float = 0.001,  # calibration: air-kerma rate per net count/s [set per probe]
        background_cps: float = 0.0,  # the probe's count rate without beam, subtracted
        debounce_ms: int = 20,  # X-ray-on line and mode input
        button_debounce_ms: int = 30,
        silence_ms: int = 3000,  # agent silent this long → safe state "monitor lost"
        watchdog_ms: int = 2000,  # hardware watchdog: the board resets if its loop stalls this long
        beam_active_low: bool = True,  # opto-coupler output pulls the pin low while the beam is on
        mode_wired: bool = False,  # a high-level-fluoroscopy line is wired to the mode input
        beam_pin: int = 2,
        pulse_pin: int = 3,
        button_pin: int = 4,
        mode_pin: int = 5,
        buzzer_pin: int = 15,
        red_pin: int = 16,
        amber_pin: int = 17,
        green_pin: int = 18,
        adc_pin: int = 26,
    ) -> None:
        self.window_ms = window_ms
        self.mgy_min_per_cps = mgy_min_per_cps
        self.background_cps = background_cps
        self.debounce_ms = debounce_ms
        self.button_debounce_ms = button_debounce_ms
        self.silence_ms = silence_ms
        self.watchdog_ms = watchdog_ms
        self.beam_active_low = beam_active_low
        self.mode_wired = mode_wired
        self.beam_pin = beam_pin
        self.pulse_pin = pulse_pin
        self.button_pin = button_pin
        self.mode_pin = mode_pin
        self.buzzer_pin = buzzer_pin
        self.red_pin = red_pin
        self.amber_pin = amber_pin
        self.green_pin = green_pin
        self.adc_pin = adc_pin

    def hello_fields(self) -> list[tuple[str, str]]:
        return [
            ("fw", FIRMWARE_VERSION),
            ("win", str(self.window_ms)),
            ("cal", f"{self.mgy_min_per_cps:.6g}"),
            ("bg", f"{self.background_cps:.6g}"),
            ("deb", str(self.debounce_ms)),
            ("sil", str(self.silence_ms)),
            ("wdt", str(self.watchdog_ms)),
            ("mode", "1" if self.mode_wired else "0"),
        ]
