"""For the appliance's tests only: an OMERO.web app whose page answers after
a wait (at most five minutes), as a long download or export does. Scenarios
that prove long requests install it; no site should."""
