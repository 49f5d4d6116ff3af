from zhongshi_runtime.serve import run

from zhongshi_screening.app import create_app
from zhongshi_screening.settings import ScreeningSettings

run(create_app, ScreeningSettings())  # type: ignore[arg-type]
