"""The data stage: read annotation files, validate and normalise them, split, cache.

``build_dataset(cfg)`` is the entry point; the submodules are the steps it runs in order.
"""
