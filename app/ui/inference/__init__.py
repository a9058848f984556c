"""Inference view: run a checkpoint on a sample, an image or a CSI file; overlays."""
