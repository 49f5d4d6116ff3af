from zhongshi_runtime.serve import run

from zhongshi_notify.app import create_app
from zhongshi_notify.settings import NotifySettings

run(create_app, NotifySettings())  # type: ignore[arg-type]
