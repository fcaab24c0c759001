from django import template

from licenses.panel import panel_context

register = template.Library()


@register.simple_tag
def license_panel_data(model):
    """Context of the license panel, so the panel template needs nothing but `model`."""
    return panel_context(model)
