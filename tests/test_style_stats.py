"""The second style measure (sitter/style_stats.py): colour and texture distances no network trains on."""

from __future__ import annotations

import cv2
import numpy as np

from shared import gallery
from sitter.style_stats import colour_distance, gabor_energies, lab_quantiles, texture_distance


def test_an_image_is_at_distance_zero_from_itself_and_a_flat_copy_is_far_in_texture() -> None:
    painting = cv2.resize(gallery.load_painting("starry-night"), (256, 160), interpolation=cv2.INTER_AREA)
    weight = np.ones(painting.shape[:2], np.float32)
    assert colour_distance(lab_quantiles(painting, weight), lab_quantiles(painting, weight)) == 0.0
    assert texture_distance(gabor_energies(painting, weight), gabor_energies(painting, weight)) == 0.0
    flat = cv2.GaussianBlur(painting, (0, 0), 4)  # about the same colours, no strokes
    grey = np.full_like(painting, 128)  # no colour, no texture
    target_colour, target_texture = lab_quantiles(painting, weight), gabor_energies(painting, weight)
    flat_colour = colour_distance(lab_quantiles(flat, weight), target_colour)
    assert 2 * flat_colour < colour_distance(lab_quantiles(grey, weight), target_colour)
    assert texture_distance(gabor_energies(flat, weight), target_texture) > 1.0


def test_the_weight_chooses_the_pixels() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 32:] = (200, 40, 40)
    left, right = np.zeros((64, 64), np.float32), np.zeros((64, 64), np.float32)
    left[:, :28], right[:, 36:] = 1.0, 1.0
    black, red = image[:, :8], image[:, -8:]
    ones = np.ones((64, 8), np.float32)
    assert colour_distance(lab_quantiles(image, left), lab_quantiles(black, ones)) < 1e-6
    assert colour_distance(lab_quantiles(image, right), lab_quantiles(red, ones)) < 1e-3
