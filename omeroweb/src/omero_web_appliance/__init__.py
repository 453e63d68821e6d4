"""The OMERO.web appliance's own code, run inside the OMERO.web venv.

Import name ``omero_web_appliance``: ``omeroweb`` is OMERO.web's own package.
"""

__version__ = "0.1.0"
