"""The outcome store: every request and outcome recorded exactly once, with alerts and analytics.

Entry points: `records.OutcomeRecord` (what the client hands over) and `recorder.Recorder` (how it
hands it over). See docs/store.md.
"""
