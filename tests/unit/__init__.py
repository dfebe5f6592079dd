"""The fast tier: no ONNX model, a deterministic fake (tests/fakes.py)."""
