from zhongshi_runtime.serve import run

from zhongshi_review.app import create_app
from zhongshi_review.settings import ReviewSettings

run(create_app, ReviewSettings())  # type: ignore[arg-type]
