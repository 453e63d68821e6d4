from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^$", views.health, name="omero_web_appliance_health"),
    re_path(r"^client/$", views.client, name="omero_web_appliance_client"),
]
