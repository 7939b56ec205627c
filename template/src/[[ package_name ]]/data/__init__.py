"""Data stages (collect, validate, split) and the shared dataset/preprocessing code."""
