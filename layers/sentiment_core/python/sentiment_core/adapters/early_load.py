"""Imported first by each model-serving handler: it starts the model load (sentiment_core.model.preload),
which then overlaps the handler's other imports; `start()` (startup.py) waits for it.

    import sentiment_core.adapters.early_load  # noqa: F401
    # isort: split
    ... the handler's imports ...
"""

from sentiment_core.model import preload

preload()
