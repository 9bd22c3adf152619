"""The crowd dataset: storage backends, the sample store, browsing, the figures over it."""
