"""Polls and surveys (thăm dò ý kiến) for citizens."""
