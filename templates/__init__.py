"""Jinja2 templates of the RTL blocks; rendered by genesys.render."""
