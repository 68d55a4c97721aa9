"""Model kit: train (ultralytics), export to ONNX, quantise and evaluate kitchen detectors."""
