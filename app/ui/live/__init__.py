"""The Live view: people from CSI as it arrives (a log being written, a replay, nexmon_csi UDP)."""
