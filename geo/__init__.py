"""Township-activity map: Chinese county work bulletins to an interactive township map.

The modules follow the data:
``io`` (files) → ``ingest`` → ``items`` → ``metrics`` → ``sectors`` →
``gazetteer``/``geocode`` → ``boundaries`` → ``aggregate`` → ``webmap`` → ``export``;
``store`` keeps what was ingested. ``pipeline.parse_text`` runs the text stages in order.
"""

__version__ = "0.1.0"
