"""Scheduled jobs composing the register (``directives``) and delivery (``notifications``)."""
