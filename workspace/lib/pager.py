"""A tiny pagination helper: the code the demo's WP-0001 is about."""


def page_count(items: int, page_size: int) -> int:
    """How many pages `items` fill at `page_size` per page."""
    if page_size <= 0:
        raise ValueError("page_size must be positive")
    return (items + page_size - 1) // page_size
