"""Shared test settings: generated state goes to a per-run folder unless PIXEL_STATE_DIR is set."""
