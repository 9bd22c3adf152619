"""Work done outside requests: the CLI, training, augmentation, evaluation, export, the datasets."""
