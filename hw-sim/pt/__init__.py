"""The ZVT payment-terminal simulator."""
