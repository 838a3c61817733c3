"""The terminal daemon. This level is the process (main, the owner thread, the state
machine, config, notify, watchdog, logging); its subpackages are `flows/` (the money
operations), `journal/` (the SQLite store), `control/` (socket, API, CLI), `sync/` (the
host link) and `devices/` (printer and panel adapters)."""
