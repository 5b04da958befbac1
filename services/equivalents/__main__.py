"""``python -m services.equivalents``: run the equivalents service under uvicorn."""

from services.equivalents.app import create_app
from services.equivalents.settings import EquivalentsSettings
from shared.service import serve


def main() -> None:
    settings = EquivalentsSettings()
    serve(create_app(settings), settings, settings.port)


if __name__ == "__main__":
    main()
