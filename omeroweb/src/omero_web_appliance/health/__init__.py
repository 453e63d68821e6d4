"""``/health/``: the Django app that answers load balancers and monitoring.

Added to omero.web.apps by the omero_web role; OMERO.web mounts it at
``<prefix>/health/``.
"""
