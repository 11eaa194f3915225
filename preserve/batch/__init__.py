"""Batch ingestion: a manifest of seeds, each its own bag, with a journal, workers and a report.

`manifest` reads and checks the manifest as a stream; `journal` keeps each row's state in
SQLite; `task` is one attempt at one row, as a worker runs it; `gates` shares --host-workers,
--wait and robots.txt between worker processes; `runner` drives a batch on this machine, and
`celery` hands the rows to Celery workers on any number of machines.
"""
