"""Periodic jobs and the scheduler that runs each of them once, on time, across hosts.

``registry.py`` says how to add a job (``register_job``); ``runner.py`` how a job is claimed
(one atomic UPDATE of its ``job_lease`` row) and run; ``builtin.py`` lists the jobs the site
ships with; ``cli.py`` is ``advocacy scheduler`` and ``advocacy jobs list|run``.
"""
