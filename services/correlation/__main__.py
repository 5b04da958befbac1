"""``python -m services.correlation``: run the correlation service under uvicorn."""

from services.correlation.app import create_app
from services.correlation.settings import CorrelationSettings
from shared.service import serve


def main() -> None:
    settings = CorrelationSettings()
    serve(create_app(settings), settings, settings.port)


if __name__ == "__main__":
    main()
