"""sentiment-score: the service's model on a laptop or an edge device, with no AWS."""
