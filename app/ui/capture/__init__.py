"""Capture dialogs: import a recording or MM-Fi, pseudo-label frames with an image teacher."""
