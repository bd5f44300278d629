"""The domain services: every operation that changes state goes through one of these functions.

Views, the admin, management commands and tests call the same functions, so each rule lives once.
"""
