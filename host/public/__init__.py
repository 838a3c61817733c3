"""The customer's refund status page (issue 24): `[public]` config, the link's master key,
its own listener (no login, no cookies, its own rate limit), the refund's timeline read from
the stored events, and how often the customer opened it."""
