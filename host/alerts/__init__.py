"""Alerts: the rules, pure (`rules.py`: what should be open now), and the engine that runs
them, stores what they raise and clear, and hands the messages over (`engine.py`)."""
