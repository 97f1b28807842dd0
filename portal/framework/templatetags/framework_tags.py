from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(score):
    """A grade threshold (a score from 0 to 1) as an exact percentage: 0.85 → "85%",
    0.855 → "85.5%". Never rounded, so a reader is never told a grade starts elsewhere."""
    value = (Decimal(score) * 100).normalize()
    return f"{value:f}%"
