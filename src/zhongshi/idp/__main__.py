"""`python -m zhongshi.idp --port 8010 --keys var/idp/keys`: run the development provider."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from zhongshi.idp.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--keys", type=Path, default=Path("var/idp/keys"))
    parser.add_argument("--issuer", default="", help="default: http://<host>:<port>")
    args = parser.parse_args()
    issuer = args.issuer or f"http://{args.host}:{args.port}"
    uvicorn.run(create_app(issuer, args.keys), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
