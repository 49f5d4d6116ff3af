from zhongshi_runtime.serve import run

from zhongshi_console.app import create_app
from zhongshi_console.settings import ConsoleSettings

run(create_app, ConsoleSettings())  # type: ignore[arg-type]
