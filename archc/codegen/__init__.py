"""Code generation backends. `pytorch` emits source text and never imports torch."""
