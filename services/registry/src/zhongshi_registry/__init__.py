"""Registry: publicity, accredited platforms, cultivation objects, certificates, public data."""
