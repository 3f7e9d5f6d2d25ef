"""Live publishers: the run streamed to TensorBoard, MLflow and Weights & Biases as it trains (log.*), from a
thread of their own that training never waits for (sink.py). Each tracker is an optional extra, imported only
when asked for."""
