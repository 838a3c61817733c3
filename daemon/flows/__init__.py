"""The terminal's flows: sale, refund, void, reprint, end of day, recovery; the shared
course of a PT operation; receipts. Each runs on the owner thread with a FlowContext."""
