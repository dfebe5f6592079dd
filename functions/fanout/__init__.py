"""CSV fan-out: split a file at row boundaries, score the chunks in parallel, merge them in order."""
