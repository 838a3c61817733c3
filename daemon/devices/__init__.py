"""The terminal's devices as the daemon uses them: the receipt printer (printer.py) and
the GPIO panel (panel.py); the payment terminal is a port in drivers/payment."""
