"""Side effects of the unbinding process, each idempotent, over one partner-center interface."""
