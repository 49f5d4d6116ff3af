from zhongshi_runtime.serve import run

from zhongshi_registry.app import create_app
from zhongshi_registry.settings import RegistrySettings

run(create_app, RegistrySettings())  # type: ignore[arg-type]
