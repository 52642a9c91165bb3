"""``make bench``: throughput, memory and scale of the unbinding worker, each
measured against a skeleton workflow of the same shape on the same server."""
