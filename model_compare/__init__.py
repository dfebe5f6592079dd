"""Two model versions side by side on one labelled file: `make compare-models` (python -m model_compare).

Before a version takes traffic: is its measured gain more than noise (McNemar's exact test), where do
the two disagree, and how do their probabilities and calibration differ.
"""
