"""The registry's use cases: each a plain async function taking its inputs, the registry and its audit."""
