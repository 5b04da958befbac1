"""``python -m services.notifier``: run the notifier service under uvicorn."""

from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.service import serve


def main() -> None:
    settings = NotifierSettings()
    serve(create_app(settings), settings, settings.port)


if __name__ == "__main__":
    main()
