"""The REST gateway: validates uploads, stores inputs, queues the Celery chord, serves results.

It sends tasks by name and never imports the service packages, so its image carries no ML libraries.
"""
