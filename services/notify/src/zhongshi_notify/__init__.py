"""Notify: e-mail, inbox, SMS and webhooks for every step."""
