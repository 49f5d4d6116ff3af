from zhongshi_runtime.logs import configure_logging
from zhongshi_runtime.serve import run

from zhongshi_console.app import create_app
from zhongshi_console.settings import ConsoleSettings

settings = ConsoleSettings()
configure_logging(settings.service_name, settings.log_level)  # here, not in create_app: tests keep their logging
run(create_app, settings)  # type: ignore[arg-type]
