"""Real-time serving: an endpoint that serves the champion version, and its smoke check.

The endpoint is not a bundle resource. A serving endpoint pins a model *version*, which does not
exist when a fresh workspace is first deployed, and a version written into the bundle would be put
back by every later `bundle deploy`, undoing promotions and rollbacks. So the serving job, run by
the training job after a promotion and by the rollback job, creates or updates the endpoint with
the databricks-sdk types built in ``endpoint.py`` (see README, "Serving"). Locally the same spec
starts MLflow's scoring server, which takes the same requests, so the smoke check runs for real on
a laptop.

- ``settings.py``: conf/serving.yml (sizes per target, smoke check{% if cookiecutter.include_feature_store == "yes" %}, online store{% endif %})
- ``endpoint.py``: names and the endpoint spec, as databricks-sdk request types
- ``backend.py``: what deploying needs from a runtime; ``local.py`` and ``databricks.py`` answer it
- ``deploy.py``: the two stages, deploy and smoke check
- ``commands.py``: their command-line entry points
"""
