"""Dataset view: browse, filter and annotate datasets; the annotation editor and model-assisted labelling."""
