"""The app's settings, serving bench/floor.py's URLconf: the app's URLs and two reference views.

bench/throughput.py runs its gunicorn and its in-process query counts with these, as
DJANGO_SETTINGS_MODULE=bench.floor_settings (the project's folder is on sys.path in both).
"""

from domainflow.settings import *  # noqa: F403 - the app's settings, unchanged but one

ROOT_URLCONF = "bench.floor"
