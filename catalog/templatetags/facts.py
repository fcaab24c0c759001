"""Figures that may be guesses, shown as catalog.hardware.facts decides: "~" and a title saying
what the guess rests on, or the plain figure."""

from django import template
from django.utils.html import format_html

from catalog import hardware

register = template.Library()


@register.filter
def memory(row) -> str:
    """The memory figure: "~4.2 GB" marked as a guess, "4.2 GB", or "" when unknown."""
    f = hardware.facts(row)
    if not f.memory_text:
        return ""
    if f.memory_guess:
        return format_html('<span class="guess" title="{}">{}</span>', f.why, f.memory_text)
    return f.memory_text


@register.filter
def quant(row) -> str:
    """The quantization as shown: "Q4_K_M (assumed)", "Q2_K–Q8_0", "GPTQ"; "" for 16-bit."""
    f = hardware.facts(row)
    return "" if f.quant in ("", "16-bit") else f.quant_text


@register.filter
def facts(row) -> hardware.Facts:
    return hardware.facts(row)
