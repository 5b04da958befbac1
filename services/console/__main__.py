"""``python -m services.console``: run the console under uvicorn."""

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.service import serve


def main() -> None:
    settings = ConsoleSettings()
    serve(create_app(settings), settings, settings.port)


if __name__ == "__main__":
    main()
