"""CSV fan-out: split a file at row boundaries, score the chunks in parallel, merge them in order."""

EVENT_SOURCE = "imdb-sentiment.batch"  # the source of the file events on the stack's bus
