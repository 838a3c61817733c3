"""`posterm-host run --http`: the fleet dashboard."""
