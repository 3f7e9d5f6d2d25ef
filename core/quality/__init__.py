"""How good a generator is: the metrics (numpy), the feature extractors they are computed on, and the
evaluator that scores a snapshot of G, on demand or in the background while training."""
