import time

from django.http import HttpResponse, HttpResponseBadRequest

LONGEST = 300


def wait(request):
    """Say nothing for ?seconds= (0 to 300), then answer."""
    try:
        seconds = int(request.GET.get("seconds", "1"))
    except ValueError:
        return HttpResponseBadRequest("seconds: expected a whole number\n", content_type="text/plain")
    if not 0 <= seconds <= LONGEST:
        return HttpResponseBadRequest(f"seconds: expected 0 to {LONGEST}\n", content_type="text/plain")
    time.sleep(seconds)
    return HttpResponse(f"waited {seconds} s\n", content_type="text/plain")
