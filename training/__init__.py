"""Training one feed-forward network per painting (Johnson et al. 2016), in torch.

Only this package imports torch: the default install, the workers and their images stay torch-free and run
the exported ONNX file with onnxruntime. Install with `pip install -e '.[train]'`.
"""
