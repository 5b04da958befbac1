"""``python -m services.ingest``: run the ingest service under uvicorn."""

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.service import serve


def main() -> None:
    settings = IngestSettings()
    serve(create_app(settings), settings, settings.port)


if __name__ == "__main__":
    main()
