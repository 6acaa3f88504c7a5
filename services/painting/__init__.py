"""Painting analysis and painting-aware placement: pure cores (no Celery, Flask or settings).

Faces and figures (MediaPipe detectors), a saliency map, the painted figures' head size and ground line,
candidate spots, and the placement plan that the stylizer and the compositor both follow.
"""
