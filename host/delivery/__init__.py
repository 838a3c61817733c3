"""The host's one outbound delivery queue: durable rows in the host's database (webhook
deliveries, refund notifications), claimed with a lease, sent through small channel
adapters (webhook, SMTP, SMS) by one sender loop, retried with one back-off."""
