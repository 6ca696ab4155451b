"""Neural-network helpers (relu, sigmoid, softplus, log_softmax, softmax, logsumexp)."""
