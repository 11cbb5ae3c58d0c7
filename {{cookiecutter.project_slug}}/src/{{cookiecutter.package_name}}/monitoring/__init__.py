"""Monitoring: drift, quality, latency and access checks, and what a violation triggers.

- ``settings.py``: the ``monitoring`` thresholds of conf/thresholds.yml and the Lakehouse monitor
  of conf/monitoring.yml
- ``statistics.py``: PSI, prediction drift, the model's metric on labelled rows, p99 latency
- ``checks.py``: each check and the verdict
- ``backend.py``: what monitoring needs from a runtime; ``local.py`` and ``databricks.py`` answer
- ``run.py``: the monitor stage (baseline, monitor, checks)
- ``commands.py``: its command-line entry points
"""
