"""Settlement engine: netting, batching, the write-ahead sender, confirmation and reconciliation."""
