"""Datasets: CSI ingestion, COCO-DensePose(+CSI) loading, mapping and the synthetic demo data."""
