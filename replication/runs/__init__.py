"""Run folders, provenance, locks and paths: where every result goes."""
