"""MTN preview: what the modality-translation network makes of a CSI recording, window by window."""
