"""The embedded OpenID Connect provider for development (`zhongshi up` starts it): never used in production."""
