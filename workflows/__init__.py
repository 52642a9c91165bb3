"""The unbinding process: its messages, its rules and the workflow that drives them."""
