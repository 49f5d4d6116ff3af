from zhongshi_runtime.serve import run

from zhongshi_intake.app import create_app
from zhongshi_intake.settings import IntakeSettings

run(create_app, IntakeSettings())  # type: ignore[arg-type]
