"""The training half of scoring: labelled data, fine-tuning, selection on validation, evaluation.

Nothing in the serving half (`pipeline_lib.scoring`) imports this package; a test checks it.
"""
