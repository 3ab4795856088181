"""The board's entry point. Copy it to the board's root as `main.py` (docs/firmware.md: mpremote);
the package `firmware_bridge/` goes beside it."""

from firmware_bridge.bridge import Bridge
from firmware_bridge.hal import Hal, button_held_at_boot
from firmware_bridge.settings import Settings


def run() -> None:
    settings = Settings()
    if button_held_at_boot(settings):
        print("doseedge bridge: maintenance, firmware not started")
        return
    hal = Hal(settings)
    bridge = Bridge(hal, settings)
    hal.write_serial(bridge.hello())
    while True:
        bridge.step()
        hal.sleep_ms(2)


run()
