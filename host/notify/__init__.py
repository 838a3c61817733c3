"""Refund notifications to the customer: templates, channels (SMTP, SMS gateway), the
durable queue and its sender."""
