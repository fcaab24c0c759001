"""HEAD on the API, answered as its GET without the body (RFC 9110 §9.3.2).

django-ninja routes by method and answers HEAD with 405 wherever only GET is declared; a
monitoring probe or `curl -I` would report the API broken. Declaring HEAD on each operation
would put it in the OpenAPI schema too, so the request is turned into a GET here instead."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

API_PREFIX = "/api/"


class HeadAsGet:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "HEAD" or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        request.method = request.META["REQUEST_METHOD"] = "GET"
        response = self.get_response(request)
        if response.streaming:
            response.streaming_content = []  # type: ignore[attr-defined]
        else:
            length = len(response.content)  # type: ignore[attr-defined]
            response.content = b""  # type: ignore[attr-defined]
            response["Content-Length"] = str(length)  # what the GET would send
        return response
