"""The GPIO front panel: buttons, LEDs and a buzzer through gpiozero."""

from posterm.drivers.panel.panel import BUTTONS, Panel, PanelError

__all__ = ["BUTTONS", "Panel", "PanelError"]
