"""Segmenter service: portrait photo in, soft full-resolution alpha matte of the main person out."""
