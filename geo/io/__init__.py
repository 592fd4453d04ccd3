"""File readers at the edge of the package.

``bulletin_files`` turns .txt/.pdf/.docx bulletins into text; ``boundary_files`` reads vector
layers. Both raise :class:`geo.errors.GeoInputError` subclasses with one-line messages, and
neither touches the network. Import the submodules directly; nothing is re-exported here so that
reading a bulletin never imports the GIS stack.
"""

__all__: list[str] = []
