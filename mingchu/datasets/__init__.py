"""Dataset tooling: our label vocabulary, YOLO-format datasets, importers and the synthetic generator."""
