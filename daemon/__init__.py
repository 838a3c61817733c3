"""The terminal daemon. This level is the process (main, the owner thread, the state
machine, config, notify, watchdog, logging); its rooms are `flows/`, `journal/` and
`control/`."""
