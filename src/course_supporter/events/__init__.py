"""The tenant's event log, its Server-Sent Events stream, and signed webhooks."""
