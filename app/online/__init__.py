"""Learning from corrections: the pipeline, the learner, rehearsal, versions, a person's own layer."""
