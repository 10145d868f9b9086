"""Use cases: functions that take a session; the CLI, the web app and the flows all call these."""
