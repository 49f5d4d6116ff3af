"""A service's app built only to read what it declares (its AsyncAPI document, topics, consumer group): nothing
connects, so development settings stand in for a deployment's secrets."""

from __future__ import annotations

import importlib

from fastapi import FastAPI


def development_app(service: str) -> FastAPI:
    """The service's FastAPI app with development settings (build only; no I/O happens before start-up)."""
    settings = getattr(importlib.import_module(f"zhongshi_{service}.settings"), f"{service.capitalize()}Settings")
    app: FastAPI = importlib.import_module(f"zhongshi_{service}.app").create_app(settings(environment="development"))
    return app
