"""Settings shared by the whole suite: none yet. Tests read the generated state (demo checkpoint,
LM export, scoring weights) from the state folder `make prepare` fills: `.pixel/` at the
repository root, or $PIXEL_STATE_DIR; a test that writes state uses its own tmp_path."""
