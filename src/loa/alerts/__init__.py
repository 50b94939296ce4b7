"""Alerts to citizens: Web Push subscriptions and fan-out (CAP comes later)."""
