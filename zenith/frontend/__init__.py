"""Frontends: turn models from other frameworks (ONNX, torch.fx) into Zenith IR."""
