"""The capacity engine every service books through (see ARCHITECTURE.md). Built with the venue
booking service; the frame mounts it like any other package."""


def init_app(app) -> None:
    """Nothing to mount until the engine has pages of its own."""
