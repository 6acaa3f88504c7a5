"""Stylizer core: repaint a portrait in a built-in style or in a painting's style (numpy + onnxruntime)."""
