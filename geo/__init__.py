"""Township-activity map: Chinese county work bulletins to an interactive township map.

The modules follow the data:
``io`` (files) → ``normalise``/``masthead`` → ``items`` → ``metrics`` → ``sectors`` →
``gazetteer``/``geocode`` → ``boundaries`` → ``aggregate`` → ``webmap`` → ``export``;
``store`` keeps what was ingested. ``pipeline.parse_text`` runs the text stages in order.
"""

__version__ = "0.1.0"

# GDAL must never reach the network or follow references in an uploaded file; its driver list
# is fixed when GDAL loads, so the lock-down is applied before any module can load it.
from geo.io import gdal_safety as _gdal_safety  # noqa: F401
