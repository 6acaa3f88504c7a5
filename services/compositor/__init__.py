"""Compositor core: cut the person out with soft alpha, place, harmonise and blend into the painting."""
