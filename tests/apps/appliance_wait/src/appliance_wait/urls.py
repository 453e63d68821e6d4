from django.urls import path

from . import views

urlpatterns = [path("", views.wait, name="appliance_wait")]
