"""The tier that needs the committed ONNX model."""
