"""From a drawing to an answer: imaging, the ensemble, what the nets see, the model files."""
