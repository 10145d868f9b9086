"""Tracks a provincial leadership's directives until they are done."""
