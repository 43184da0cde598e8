"""The ONNX front end: loader, per-op IR builders, and the named passes run by `compiler.pipeline`."""
