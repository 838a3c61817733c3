"""ESC/POS at the byte level (no I/O), shared by the printer driver and its simulator."""
