"""The simulated ESC/POS receipt printer (`posterm-sim printer`, `posterm-sim ctl`)."""
