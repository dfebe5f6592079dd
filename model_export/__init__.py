"""Reproducible pipeline: fine-tune MiniLM on IMDB, export to ONNX, quantize to int8, evaluate."""
