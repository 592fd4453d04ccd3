"""The Streamlit app's sections (widgets and session state); ``streamlit_app.py`` runs them.

Everything computed lives in :mod:`geo`; these modules only draw widgets, keep session state
and call the package.
"""
